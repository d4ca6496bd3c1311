"""Hydra entry points of TIGeR: `train(cfg)` and `evaluate(cfg)` (called by scripts/train.py / evaluate.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from common.training import Trainer, load_model_weights, trainer_config_from
from tiger.config import data_config_from, model_config_from
from tiger.task import TigerTask

log = logging.getLogger(__name__)


def build_task(cfg: DictConfig) -> TigerTask:
    """TigerTask from the composed config (model/data validated against the dataclasses)."""
    model_cfg = model_config_from(cfg.model)
    data_cfg = data_config_from(cfg.data)
    return TigerTask(model_cfg, data_cfg, Path(cfg.paths.cache_dir))


def train(cfg: DictConfig) -> dict[str, float]:
    """Train TIGeR (optionally initialised from `cfg.ckpt`); returns the final gSDF metrics, CD_o first."""
    task = build_task(cfg)
    if cfg.get("ckpt"):
        init_path = Path(cfg.ckpt)
        build = task.build_model

        def build_initialised() -> torch.nn.Module:
            model = build()
            load_model_weights(model, init_path)
            return model

        task.build_model = build_initialised
    logger_cfg = OmegaConf.to_container(cfg.logger, resolve=True) if cfg.get("logger") else None
    trainer = Trainer(trainer_config_from(cfg.trainer), task, Path(cfg.run_dir), logger_cfg, seed=int(cfg.seed),
                      full_config=OmegaConf.to_container(cfg, resolve=True))
    return trainer.fit()


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate `cfg.ckpt` on the eval split with the gSDF protocol (median CD_o first)."""
    task = build_task(cfg)
    model = task.build_model()
    load_model_weights(model, Path(cfg.ckpt))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    loader = DataLoader(task.eval_dataset(), batch_size=int(cfg.trainer.eval_batch_size), shuffle=False)
    return task.evaluate(model, loader)
