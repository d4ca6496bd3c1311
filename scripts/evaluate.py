"""Evaluate a checkpoint: `python scripts/evaluate.py experiment=<paper>/<name> ckpt=<path>`."""

import sys

import hydra
from omegaconf import DictConfig

from common.config_validation import ConfigError
from common.entry import run, set_launch_id


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Evaluate and write evaluate_metrics.json in the run dir."""
    try:
        run(cfg, "evaluate")
    except ConfigError as err:
        sys.exit(f"config error: {err}")


if __name__ == "__main__":
    set_launch_id()
    main()
