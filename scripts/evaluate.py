"""Evaluate a checkpoint: `python scripts/evaluate.py experiment=<paper>/<name> ckpt=<path>`."""

import hydra
from omegaconf import DictConfig

from common.entry import run


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Evaluate and write evaluate_metrics.json in the run dir."""
    run(cfg, "evaluate")


if __name__ == "__main__":
    main()
