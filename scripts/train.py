"""Train one experiment: `python scripts/train.py experiment=<paper>/<name> [overrides]`.

Exit codes: 0 done; 1 config or runtime error (the message names the key / file); 75 stopped by
SIGTERM/SIGINT/SIGUSR1 after saving a checkpoint (run the same command, or requeue, to continue).
"""

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from common.config_validation import ConfigError
from common.entry import run, set_launch_id


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Train and return `optimized_metric` (what Hydra sweepers optimise, in `optimized_direction`)."""
    try:
        metrics = run(cfg, "train")
    except ConfigError as err:
        sys.exit(f"config error: {err}")
    name = OmegaConf.select(cfg, "optimized_metric", throw_on_missing=False)
    if name is None:
        return None
    if name not in metrics:
        raise KeyError(f"optimized_metric={name!r} is not among the returned metrics {sorted(metrics)}")
    return float(metrics[name])


if __name__ == "__main__":
    set_launch_id()
    main()
