"""Dispatch of the Hydra entry points to the paper packages (`<paper>.api.train` / `.evaluate`)."""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from common import PAPERS

log = logging.getLogger(__name__)


def run(cfg: DictConfig, action: str) -> dict[str, float]:
    """Run `action` ('train' or 'evaluate') of the paper named by `cfg.paper`; save config and metrics."""
    paper = cfg.paper
    if paper not in PAPERS:
        raise ValueError(f"config key 'paper' is {paper!r}; expected one of {list(PAPERS)}. "
                         "Pick an experiment with `experiment=<paper>/<name>` "
                         "(see configs/experiment/).")
    api = importlib.import_module(f"{paper}.api")
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    metrics = getattr(api, action)(cfg)
    (run_dir / f"{action}_metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    log.info("%s %s finished: %s", paper, action, metrics)
    return metrics
