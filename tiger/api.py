"""Hydra entry points of TIGeR: `train(cfg)` and `evaluate(cfg)` (called by scripts/train.py / evaluate.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.utils.data import DataLoader

from common.body import is_standin
from common.device import default_device
from common.models import ModelCardInfo, load_model_folder
from common.models.hub import CONFIG_NAME
from common.training import Trainer, load_model_weights, trainer_config_from
from tiger.config import data_config_from, model_config_from
from tiger.model.network import TigerNet
from tiger.task import TigerTask

log = logging.getLogger(__name__)
EVAL_SAMPLES = "eval_samples.json"
"""Per-sample evaluation records written into the run dir (read by the reproduction's figures)."""


def build_task(cfg: DictConfig) -> TigerTask:
    """TigerTask from the composed config (model/data validated against the dataclasses); checks at start-up
    that real data has its real inputs and that a generated prior's cache exists."""
    task = TigerTask(model_config_from(cfg.model), data_config_from(cfg.data), Path(cfg.paths.cache_dir))
    task.check_inputs()
    return task


def load_tiger(path: str | Path, task: TigerTask) -> nn.Module:
    """A TigerNet from a model folder (config.json) or, for older runs, cfg.model plus a weights file."""
    path = Path(path)
    if (path / CONFIG_NAME).is_file():
        model = load_model_folder(path)
        if not isinstance(model, TigerNet):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a TigerNet")
        return model
    return load_model_weights(task.build_model(), path)


def train(cfg: DictConfig) -> dict[str, float]:
    """Train TIGeR (optionally initialised from `cfg.ckpt`); returns the final gSDF metrics, CD_o first, and the
    raw-prior baseline under `raw_prior/`. The final weights are written as a model folder."""
    task = build_task(cfg)
    if cfg.get("ckpt"):
        init_path = Path(cfg.ckpt)
        task.build_model = lambda: load_tiger(init_path, task).train()
    logger_cfg = OmegaConf.to_container(cfg.logger, resolve=True) if cfg.get("logger") else None
    run_dir = Path(cfg.run_dir)
    task.samples_path = run_dir / EVAL_SAMPLES
    trainer = Trainer(trainer_config_from(cfg.trainer), task, run_dir, logger_cfg, seed=int(cfg.seed),
                      full_config=OmegaConf.to_container(cfg, resolve=True))
    metrics = trainer.fit()
    if trainer.is_main:
        card = ModelCardInfo(paper="tiger", data=task.data_cfg.source, metrics=metrics,
                             standin_body_models=is_standin(task.mano()))
        trainer.model.save_pretrained(run_dir / "checkpoints" / "final", card=card)
    return metrics


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate `cfg.ckpt` (a model folder) on the eval split with the gSDF protocol (median CD_o first)."""
    task = build_task(cfg)
    model = load_tiger(cfg.ckpt, task).to(default_device()).eval()
    task.samples_path = Path(cfg.run_dir) / EVAL_SAMPLES
    loader = DataLoader(task.eval_dataset(), batch_size=int(cfg.trainer.eval_batch_size), shuffle=False)
    return task.evaluate(model, loader)
