"""Train one experiment: `python scripts/train.py experiment=<paper>/<name> [overrides]`."""

import hydra
from omegaconf import DictConfig

from common.entry import run


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Train and return the primary metric (so Hydra sweepers can optimise it)."""
    metrics = run(cfg, "train")
    return next(iter(metrics.values()), None) if metrics else None


if __name__ == "__main__":
    main()
