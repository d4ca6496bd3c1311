"""Hydra entry points of PoseLLM: `train(cfg)` and `evaluate(cfg)` (primary metric COCO AP first)."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from common.training.checkpoint import publish_dir
from common.training.hf import hf_init_wandb
from common.training.hf_dist import barrier, broadcast, full_state_dict, is_main
from posellm.config import data_config, model_config
from posellm.data import KeypointTrainSet
from posellm.folder import load_posellm, save_posellm
from posellm.inference import prior_x_tenths_nll, x_tenths_nll
from posellm.model import build_posellm
from posellm.pipeline import evaluate_model, load_splits, mean_pose_baseline
from posellm.training import fit

log = logging.getLogger(__name__)
FINAL_FOLDER = "checkpoints/final"
"""The trained model folder under the run dir (the shared runtime's final-model location)."""


def train(cfg: DictConfig) -> dict[str, float]:
    """Train on cfg.data, save run_dir/checkpoints/final (rank 0), evaluate sharded over ranks (+ zero-shot, baseline).

    A stop signal (SIGTERM/SIGINT/SIGUSR1) saves an HF checkpoint and exits with code 75 (TrainingStopped)
    before the final save and evaluation; rerunning with trainer.resume=auto continues it.
    """
    model_cfg, data_cfg = model_config(cfg.model), data_config(cfg.data)
    if data_cfg.source == "coco" and (model_cfg.vision_path is None or model_cfg.llm_path is None):
        raise ValueError("COCO training uses the paper's pretrained towers: set POSELLM_DINOV2_PATH and "
                         "POSELLM_LLM_PATH (or model.vision_path / model.llm_path) to local folders; "
                         "see docs/posellm.md")
    run_dir = Path(cfg.run_dir)
    splits = load_splits(data_cfg, cfg.paths.cache_dir)
    built = build_posellm(model_cfg, data_cfg.image_size, seed=int(cfg.seed))
    train_set = KeypointTrainSet(splits.train, built.codec, data_cfg, model_cfg.image_mean, model_cfg.image_std,
                                 seed=int(cfg.seed))
    wandb_run = hf_init_wandb(cfg.get("logger"), run_dir, OmegaConf.to_container(cfg, resolve=True))
    try:
        logs, trainer = fit(built, train_set, cfg.trainer, data_cfg, run_dir, int(cfg.seed), cfg.get("logger"),
                            connector_lr_scale=model_cfg.connector_lr_scale)
    finally:
        if wandb_run is not None:
            wandb_run.finish()
    state = full_state_dict(trainer)
    if is_main():
        folder = run_dir / FINAL_FOLDER
        staged = folder.with_name(f".{folder.name}.tmp")
        save_posellm(built, model_cfg, data_cfg.image_size, staged, state=_peft_state(built, state))
        publish_dir(staged, folder)
        log.info("model folder written to %s", folder)
    barrier()
    metrics = evaluate_model(built.model, built.codec, splits, model_cfg, data_cfg.image_size)
    baseline, _ = mean_pose_baseline(splits, data_cfg.image_size)
    baseline = {k: v for k, v in baseline.items() if k != "unparsed_rate"}
    if data_cfg.digit_nll:
        metrics["x_tenths_nll"], baseline["x_tenths_nll"] = digit_nll(built, splits, model_cfg, data_cfg.image_size)
    return {**metrics, **{f"mean_pose/{k}": v for k, v in baseline.items()}, **logs}


def digit_nll(built: object, splits: object, model_cfg: object, image_size: int) -> tuple[float, float]:
    """Mean NLL (nats) of the true x first decimal: the model's (given the image) and the image-blind prior's."""
    model = broadcast(float(x_tenths_nll(built.model, built.codec, splits.val, image_size, model_cfg.image_mean,
                                         model_cfg.image_std).mean()) if is_main() else None)
    return model, float(prior_x_tenths_nll(splits.train, splits.val, image_size).mean())


def _peft_state(built: object, state: dict | None) -> dict | None:
    """The gathered trainer state dict under the PeftModel's key names (the trainer may hold the inner module)."""
    if state is None:
        return None
    names = set(built.model.state_dict())
    return {k if k in names else f"base_model.model.{k}": v for k, v in state.items()}


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate the model folder `cfg.ckpt` (written by train) on the data of cfg.data (zero-shot sets too)."""
    data_cfg = data_config(cfg.data)
    built, model_cfg, image_size = load_posellm(cfg.ckpt)
    if image_size != data_cfg.image_size:
        log.warning("model folder crop size %d overrides data.image_size %d", image_size, data_cfg.image_size)
    splits = load_splits(data_cfg, cfg.paths.cache_dir)
    return evaluate_model(built.model, built.codec, splits, model_cfg, image_size)

