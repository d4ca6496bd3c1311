"""Hydra entry points of eggflow: `train(cfg)` and `evaluate(cfg)` (called through common.entry)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset, Subset

from common.training import Trainer, load_model_weights, trainer_config_from
from eggflow.config import EggFlowDataConfig, EggFlowModelConfig
from eggflow.evaluation import forecast_metrics, predict
from eggflow.task import EggFlowData, EggFlowTask

log = logging.getLogger(__name__)


def parse_configs(cfg: DictConfig) -> tuple[EggFlowModelConfig, EggFlowDataConfig]:
    """Validate cfg.model / cfg.data against the dataclasses (a wrong key or type fails here)."""
    resolved = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "data")}
    model = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EggFlowModelConfig), resolved["model"]))
    data = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EggFlowDataConfig), resolved["data"]))
    return model, data


def egomotion_subset(dataset: Dataset, fraction: float) -> Dataset:
    """The `fraction` of samples with the largest egomotion (norm of the extrinsics' variation)."""
    egomotion = np.asarray(dataset.egomotion)
    keep = np.argsort(-egomotion)[: max(1, round(fraction * len(egomotion)))]
    return dataset.subset(np.sort(keep)) if hasattr(dataset, "subset") else Subset(dataset, keep.tolist())


def eval_set(data: EggFlowData) -> Dataset:
    """The evaluation set, restricted to the top-egomotion fraction when the data config asks for it."""
    frac = data.cfg.egomotion_top_fraction
    return data.eval if frac is None else egomotion_subset(data.eval, frac)


def pretrain_head(cfg: DictConfig, model_cfg: EggFlowModelConfig, data_cfg: EggFlowDataConfig,
                  run_dir: Path) -> dict:
    """Velocity-objective pretraining of the action head on disjoint synthetic clips (a GR00T stand-in)."""
    pre_model = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(model_cfg), {"objective": "velocity"}))
    pre_data = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(data_cfg),
                                                   {"source": "synthetic", "seed": data_cfg.seed + 1000}))
    data = EggFlowData(pre_model, pre_data, Path(cfg.paths.cache_dir))
    trainer_cfg = trainer_config_from(cfg.trainer)
    trainer_cfg.max_steps = model_cfg.pretrain_head_steps
    trainer = Trainer(trainer_cfg, EggFlowTask(pre_model, data, eval_set=None), run_dir / "pretrain_head",
                      seed=int(cfg.seed) + 1)
    trainer.fit()
    return {k: v.detach().clone() for k, v in trainer.model.action_head.state_dict().items()}


def train(cfg: DictConfig) -> dict[str, float]:
    """Train on cfg.data with the shared Trainer; returns eval metrics with ADE first."""
    model_cfg, data_cfg = parse_configs(cfg)
    run_dir = Path(cfg.run_dir)
    init = pretrain_head(cfg, model_cfg, data_cfg, run_dir) if model_cfg.pretrain_head_steps > 0 else None
    data = EggFlowData(model_cfg, data_cfg, Path(cfg.paths.cache_dir))
    task = EggFlowTask(model_cfg, data, eval_set=eval_set(data), init_state=init)
    logger_cfg = OmegaConf.to_container(cfg.logger, resolve=True) if cfg.get("logger") else None
    trainer = Trainer(trainer_config_from(cfg.trainer), task, run_dir, logger_cfg=logger_cfg, seed=int(cfg.seed))
    return trainer.fit()


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate the checkpoint cfg.ckpt on the evaluation set (ADE first)."""
    model_cfg, data_cfg = parse_configs(cfg)
    data = EggFlowData(model_cfg, data_cfg, Path(cfg.paths.cache_dir))
    model = EggFlowTask(model_cfg, data).build_model()
    load_model_weights(model, cfg.ckpt)
    model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    loader = DataLoader(eval_set(data), batch_size=int(cfg.trainer.eval_batch_size))
    out = predict(model, loader)
    return forecast_metrics(out["pred"], out["gt"], out["valid"])
