"""Hydra entry points of eggflow: `train(cfg)` and `evaluate(cfg)` (called through common.entry)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset, Subset

from common.device import default_device
from common.models import ModelCardInfo, load_model_folder
from common.training import Trainer, trainer_config_from
from eggflow.baselines import constant_velocity, static, zero_velocity
from eggflow.config import EggFlowDataConfig, EggFlowModelConfig
from eggflow.data import corrupted
from eggflow.evaluation import forecast_metrics, predict
from eggflow.model import EggFlowModel
from eggflow.task import EggFlowData, EggFlowTask

log = logging.getLogger(__name__)
CORRUPTIONS = {"noisy_vision": (True, False), "dummy_language": (False, True),
               "noisy_vision_dummy_language": (True, True)}
PREDICTIONS = "predictions.npz"


REQUIRED_HINTS = {"model.encoder.weights.path": "the EgoVideo checkpoint EgoVideo_model.pth",
                  "model.encoder.tokenizer": "a folder with bert-large-uncased's vocab.txt",
                  "model.groot.path": "the GR00T-N1.5-3B folder (model.safetensors.index.json + shards)"}


def parse_configs(cfg: DictConfig) -> tuple[EggFlowModelConfig, EggFlowDataConfig]:
    """Validate cfg.model / cfg.data against the dataclasses (a wrong key or type or an unset required path
    of the paper configs fails here, before anything is built)."""
    unset = [key for key in REQUIRED_HINTS
             if OmegaConf.is_missing(OmegaConf.select(cfg, key.rsplit(".", 1)[0]), key.rsplit(".", 1)[1])]
    if unset:
        raise ValueError("required paths are unset: " + "; ".join(f"{k} (set {k}=<{REQUIRED_HINTS[k]}>)" for k in unset)
                         + ". See docs/eggflow.md, 'Paper path'.")
    resolved = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "data")}
    model = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EggFlowModelConfig), resolved["model"]))
    data = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EggFlowDataConfig), resolved["data"]))
    return model, data


def egomotion_subset(dataset: Dataset, fraction: float) -> Dataset:
    """The `fraction` of samples with the largest egomotion (norm of the extrinsics' variation)."""
    egomotion = np.asarray(dataset.egomotion)
    keep = np.sort(np.argsort(-egomotion)[: max(1, round(fraction * len(egomotion)))])
    return dataset.subset(keep) if hasattr(dataset, "subset") else Subset(dataset, keep.tolist())


def eval_set(data: EggFlowData) -> Dataset:
    """The evaluation set, restricted to the top-egomotion fraction when the data config asks for it."""
    frac = data.cfg.egomotion_top_fraction
    return data.eval if frac is None else egomotion_subset(data.eval, frac)


def pretrain_head(cfg: DictConfig, model_cfg: EggFlowModelConfig, data_cfg: EggFlowDataConfig,
                  run_dir: Path) -> dict:
    """Velocity-objective pretraining of the action head on disjoint synthetic clips (a GR00T stand-in)."""
    pre_model = dataclasses.replace(model_cfg, objective="velocity")
    pre_data = dataclasses.replace(data_cfg, source="synthetic", root=None, seed=data_cfg.seed + 1000,
                                   noisy_vision=False, dummy_language=False)
    data = EggFlowData(pre_model, pre_data, Path(cfg.paths.cache_dir))
    trainer_cfg = dataclasses.replace(trainer_config_from(cfg.trainer), max_steps=model_cfg.pretrain_head_steps,
                                      best_metric=None, ckpt_every=0)
    trainer = Trainer(trainer_cfg, EggFlowTask(data, eval_set=None), run_dir / "pretrain_head",
                      seed=int(cfg.seed) + 1)
    trainer.fit()
    return {k: v.detach().clone() for k, v in trainer.model.action_head.state_dict().items()}


def _metrics(model: EggFlowModel, dataset: Dataset, batch_size: int) -> tuple[dict[str, float], dict]:
    out = predict(model, DataLoader(dataset, batch_size=batch_size))
    return forecast_metrics(out["pred"], out["gt"], out["valid"]), out


def baseline_metrics(data: EggFlowData, dataset: Dataset) -> dict[str, dict[str, float]]:
    """Static (training mean pose), CVM and zero-velocity on `dataset`, EggHand's protocol."""
    arrays = dataset.window_arrays(np.arange(len(dataset)))
    past, valid, gt, gt_valid = arrays["past"], arrays["past_valid"], arrays["future"], arrays["future_valid"]
    h = data.cfg.horizon
    preds = {"static": static(data.mean_pose, len(gt), h),
             "cvm": constant_velocity(past, valid, h, data.cfg.action_offset_start),
             "zero_velocity": zero_velocity(past, valid, h)}
    return {name: forecast_metrics(pred, gt, gt_valid) for name, pred in preds.items()}


def full_report(model: EggFlowModel, data: EggFlowData, dataset: Dataset, batch_size: int,
                run_dir: Path) -> dict[str, float]:
    """The model's metrics (ADE first), then `<baseline>/`, `<corruption>/` (test-time, Table 3) and `top10/`
    (top-10% egomotion, Table 4) prefixed metrics; predictions of the first clips go to run_dir for figures."""
    ours, out = _metrics(model, dataset, batch_size)
    report = dict(ours)
    for name, m in baseline_metrics(data, dataset).items():
        report.update({f"{name}/{k}": v for k, v in m.items()})
    if data.cfg.test_corruptions:
        for name, (noisy, dummy) in CORRUPTIONS.items():
            m, _ = _metrics(model, corrupted(dataset, data, noisy, dummy, seed=7), batch_size)
            report.update({f"{name}/{k}": v for k, v in m.items()})
    top = egomotion_subset(dataset, 0.1)
    report.update({f"top10/{k}": v for k, v in _metrics(model, top, batch_size)[0].items()})
    for name, m in baseline_metrics(data, top).items():
        report.update({f"top10/{name}/{k}": v for k, v in m.items()})
    keep = slice(0, 8)
    cvm = constant_velocity(out["past"][keep], out["past_valid"][keep], data.cfg.horizon, data.cfg.action_offset_start)
    np.savez(run_dir / PREDICTIONS, **{k: v[keep] for k, v in out.items()}, cvm=cvm, frames=data.frames,
             texts=np.array(data.eval_texts))
    return report


def train(cfg: DictConfig) -> dict[str, float]:
    """Train on cfg.data with the shared Trainer; returns eval metrics (ADE first) plus the prefixed extras."""
    model_cfg, data_cfg = parse_configs(cfg)
    run_dir = Path(cfg.run_dir)
    init = pretrain_head(cfg, model_cfg, data_cfg, run_dir) if model_cfg.pretrain_head_steps > 0 else None
    data = EggFlowData(model_cfg, data_cfg, Path(cfg.paths.cache_dir))
    task = EggFlowTask(data, eval_set=eval_set(data), init_state=init)
    logger_cfg = OmegaConf.to_container(cfg.logger, resolve=True) if cfg.get("logger") else None
    trainer_cfg = trainer_config_from(cfg.trainer)
    trainer = Trainer(trainer_cfg, task, run_dir, logger_cfg=logger_cfg, seed=int(cfg.seed))
    final = trainer.fit()
    model = trainer.model.eval()
    report = full_report(model, data, eval_set(data), trainer_cfg.eval_batch_size, run_dir)
    model.save_pretrained(run_dir / "checkpoints" / "final",
                          card=ModelCardInfo(paper="eggflow", data=data_cfg.source, metrics=final))
    return report


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Evaluate the model folder cfg.ckpt (config.json + model.safetensors) on cfg.data (ADE first)."""
    _, data_cfg = parse_configs(cfg)
    model = load_model_folder(cfg.ckpt)
    if not isinstance(model, EggFlowModel):
        raise TypeError(f"ckpt={cfg.ckpt} holds a {type(model).__name__}, not an EggFlowModel")
    data = EggFlowData(model.cfg, data_cfg, Path(cfg.paths.cache_dir))
    if data.model_cfg.encoder.words != model.cfg.encoder.words:
        raise ValueError(f"ckpt={cfg.ckpt} was trained with another vocabulary than data.root's task texts; "
                         "evaluate it on the data it was trained for")
    model.to(default_device()).eval()
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return full_report(model, data, eval_set(data), int(cfg.trainer.eval_batch_size), run_dir)
