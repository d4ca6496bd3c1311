"""Hydra entry points. The kinematics model has no offline training: `train` runs the online solver on the
configured problems and returns its metrics (trainer.max_steps = solver steps per problem, trainer.lr = learning
rate of the per-problem MLPs; cfg.seed picks the problems and the MLP initialisations); `evaluate` does the same
(cfg.ckpt is ignored). data.source=synthetic: the synthetic interaction benchmark; data.source=behave: BEHAVE's
test frames (CHORE protocol), tracker outputs refined onto the GT contact regions, CHORE metric."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from common.body import is_standin, load_smpl
from kinematics.behave_frames import evaluate_behave
from kinematics.config import data_config, model_config
from kinematics.experiment import cpu_threads, make_cases, run_solver, solver_configs

log = logging.getLogger(__name__)


def _run(cfg: DictConfig) -> dict[str, float]:
    """Solve the problems of cfg.data with cfg.model, write metrics.json in cfg.run_dir; mpjpe_mm first."""
    model_cfg, data_cfg = model_config(cfg.model), data_config(cfg.data)
    seed, steps, lr = int(cfg.seed), int(cfg.trainer.max_steps), float(cfg.trainer.lr)
    with cpu_threads(1):
        if data_cfg.source == "behave":
            cache = data_cfg.cache_dir or OmegaConf.select(cfg, "paths.cache_dir") or ".cache"
            metrics = evaluate_behave(replace(data_cfg, cache_dir=str(cache)), model_cfg, steps, lr, seed)
        else:
            smpl = load_smpl(data_cfg.body_models)
            cases = make_cases(smpl, replace(data_cfg, seed=data_cfg.seed + seed))
            metrics, _ = run_solver(cases, smpl, solver_configs(model_cfg, steps, lr, seed))
            rough, _ = run_solver(cases, smpl, None)
            metrics.update({f"rough/{k}": v for k, v in rough.items() if k != "solves_per_s"})
            metrics["standin_body_model"] = float(is_standin(smpl))
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log.info("kinematics %s on %s: %s", model_cfg.name, data_cfg.source, metrics)
    return metrics


def train(cfg: DictConfig) -> dict[str, float]:
    """No offline training: run and score the online IK solver; primary metric (mpjpe_mm) first."""
    return _run(cfg)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Same as train (the solver has no checkpoint); primary metric (mpjpe_mm) first."""
    return _run(cfg)
