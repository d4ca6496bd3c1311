"""Hydra entry points of PoseLLM: `train(cfg)` and `evaluate(cfg)` (primary metric COCO AP first)."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from posellm.config import data_config, model_config
from posellm.data import KeypointTrainSet
from posellm.model import build_posellm
from posellm.pipeline import evaluate_model, load_splits, mean_pose_baseline
from posellm.training import fit, load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Train on cfg.data, save run_dir/checkpoint, evaluate COCO AP (+ zero-shot sets) and the baseline."""
    model_cfg, data_cfg = model_config(cfg.model), data_config(cfg.data)
    if data_cfg.train == "coco" and (model_cfg.vision_path is None or model_cfg.llm_path is None):
        raise ValueError("COCO training uses the paper's pretrained towers: set POSELLM_DINOV2_PATH and "
                         "POSELLM_LLM_PATH (or model.vision_path / model.llm_path) to local folders; "
                         "see docs/posellm.md")
    run_dir = Path(cfg.run_dir)
    splits = load_splits(data_cfg, cfg.paths.cache_dir)
    built = build_posellm(model_cfg, data_cfg.image_size, seed=int(cfg.seed))
    train_set = KeypointTrainSet(splits.train, built.codec, data_cfg, model_cfg.image_mean, model_cfg.image_std,
                                 seed=int(cfg.seed))
    logs = fit(built, train_set, cfg.trainer, data_cfg, run_dir, int(cfg.seed), cfg.get("logger"),
               connector_lr_scale=model_cfg.connector_lr_scale)
    ckpt = save_checkpoint(built, model_cfg, data_cfg.image_size, run_dir / "checkpoint")
    log.info("checkpoint written to %s", ckpt)
    metrics = evaluate_model(built.model, built.codec, splits, model_cfg, data_cfg.image_size)
    baseline, _ = mean_pose_baseline(splits, data_cfg.image_size)
    return {**metrics, "mean_pose_AP": baseline["AP"], **logs}


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate the checkpoint folder `cfg.ckpt` (written by train) on the data of cfg.data."""
    data_cfg = data_config(cfg.data)
    built, model_cfg, image_size = load_checkpoint(cfg.ckpt)
    if image_size != data_cfg.image_size:
        log.warning("checkpoint crop size %d overrides data.image_size %d", image_size, data_cfg.image_size)
    splits = load_splits(data_cfg, cfg.paths.cache_dir)
    return evaluate_model(built.model, built.codec, splits, model_cfg, image_size)
