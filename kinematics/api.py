"""Hydra entry points. The kinematics model has no offline training: `train` runs the online solver on
the synthetic interaction benchmark and returns its metrics (trainer.max_steps = solver steps per problem,
trainer.lr = learning rate of the per-problem MLPs); `evaluate` does the same (cfg.ckpt is ignored)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig

from common.body import is_standin, load_smpl
from kinematics.config import data_config, model_config
from kinematics.experiment import cpu_threads, make_cases, run_solver, solver_configs

log = logging.getLogger(__name__)


def _run(cfg: DictConfig) -> dict[str, float]:
    """Build the benchmark from cfg.data, solve with cfg.model, write metrics.json in cfg.run_dir."""
    model_cfg, data_cfg = model_config(cfg.model), data_config(cfg.data)
    smpl = load_smpl(data_cfg.body_models)
    cases = make_cases(smpl, data_cfg)
    solver_cfg = solver_configs(model_cfg, int(cfg.trainer.max_steps), float(cfg.trainer.lr), int(cfg.seed))
    with cpu_threads(1):
        metrics, _ = run_solver(cases, smpl, solver_cfg)
    metrics["standin_body_model"] = float(is_standin(smpl))
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log.info("kinematics %s on %s: %s", model_cfg.name, data_cfg.name, metrics)
    return metrics


def train(cfg: DictConfig) -> dict[str, float]:
    """No offline training: run and score the online IK solver; primary metric (mpjpe_mm) first."""
    return _run(cfg)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Same as train (the solver has no checkpoint); primary metric (mpjpe_mm) first."""
    return _run(cfg)
