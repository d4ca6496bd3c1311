"""Hydra entry points of the contact paper: `train(cfg)` and `evaluate(cfg)` (called by common.entry)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset

from common.body import smpl_part_labels
from common.models import load_model_folder
from common.training import Trainer, evaluate_checkpoint, load_model_weights, trainer_config_from
from contact.behave import BehaveClips
from contact.config import ContactDataConfig, ContactModelConfig, data_config, model_config
from contact.evaluation import contact_scores, majority_class
from contact.model import CRRNet
from contact.pipeline_eval import behave_pipeline, pipeline_config, synthetic_pipeline
from contact.synthetic import generate_clips
from contact.task import ClipDataset, ContactTask, middle_frame_confusion

log = logging.getLogger(__name__)
EVAL_CLIP_OFFSET = 1_000_000
"""Synthetic eval clips use indices from here on, so they never overlap the training clips."""


def behave_root(dcfg: ContactDataConfig, data_root: str | None) -> Path:
    """BEHAVE root: data.root, else $EHP_BEHAVE_ROOT, else <paths.data_root>/behave; must exist."""
    root = Path(dcfg.root or os.environ.get("EHP_BEHAVE_ROOT") or Path(data_root or "data") / "behave")
    if not root.exists():
        raise FileNotFoundError(f"BEHAVE root {root} does not exist: set data.root=... or EHP_BEHAVE_ROOT, "
                                "and prepare it as described in docs/contact.md#behave")
    return root


def synthetic_clips(dcfg: ContactDataConfig, cache_dir: str | Path | None,
                    body_models: str | None) -> tuple[list[dict], list[dict]]:
    """(train clips, held-out clips) of the embedded synthetic HOI data (cached on disk)."""
    cache = None if cache_dir is None or not dcfg.cache else Path(cache_dir) / "contact"
    train = generate_clips(dcfg, 0, dcfg.train_clips, cache, body_models)
    held_out = generate_clips(dcfg, EVAL_CLIP_OFFSET, dcfg.eval_clips, cache, body_models)
    return train, held_out


def build_datasets(cfg: DictConfig, dcfg: ContactDataConfig) -> tuple[Dataset, Dataset]:
    """(train, eval) datasets for the configured data source."""
    body_models = OmegaConf.select(cfg, "paths.body_models")
    if dcfg.source == "synthetic":
        train, held_out = synthetic_clips(dcfg, OmegaConf.select(cfg, "paths.cache_dir"), body_models)
        return ClipDataset(train, dcfg.frames), ClipDataset(held_out, dcfg.frames)
    root = behave_root(dcfg, OmegaConf.select(cfg, "paths.data_root"))
    return behave_clips(root, dcfg, body_models, OmegaConf.select(cfg, "paths.cache_dir")), behave_clips(
        root, dcfg, body_models, OmegaConf.select(cfg, "paths.cache_dir"), split="test")


def behave_clips(root: Path, dcfg: ContactDataConfig, body_models: str | None, cache_dir: str | None,
                 split: str = "train") -> BehaveClips:
    """BEHAVE clips of a split (GT-posed object points; the test protocol adds tracker points itself)."""
    return BehaveClips(root, split, dcfg.frames, smpl_part_labels(body_models), body_models=body_models,
                       smplh_standin=dcfg.smplh_standin, cache_dir=Path(cache_dir or ".cache"),
                       image_size=dcfg.image_size, num_points=dcfg.num_points, kid=dcfg.kid, seed=dcfg.seed)


class _DatasetTask(ContactTask):
    """ContactTask over ready-made datasets (synthetic clip datasets or BEHAVE clips)."""

    def __init__(self, mcfg: ContactModelConfig, dcfg: ContactDataConfig, train: Dataset, held_out: Dataset):
        super().__init__(mcfg, dcfg, [], None)
        self._train, self._eval = train, held_out

    def train_dataset(self) -> Dataset:
        return self._train

    def eval_dataset(self) -> Dataset:
        return self._eval


def majority_scores(train: Dataset, held_out: Dataset, batch_size: int = 16) -> dict[str, float]:
    """Scores of always predicting the training set's most frequent class (middle frames)."""
    labels = np.concatenate([np.asarray(train[i]["labels"]).reshape(-1) for i in range(len(train))])
    constant = majority_class(labels)
    loader = DataLoader(held_out, batch_size=batch_size)
    return contact_scores(middle_frame_confusion(lambda batch: torch.full_like(batch["labels"], constant),
                                                 loader, torch.device("cpu")))


def train(cfg: DictConfig) -> dict[str, float]:
    """Train CRRNet (or the PiCR-style baseline) on cfg.data; returns held-out mIoU first, the other scores, the
    majority-class baseline on the same clips under majority/*, and with a `pipeline:` node the Table 1 metrics."""
    torch.set_float32_matmul_precision("high")
    mcfg, dcfg = model_config(cfg.model), data_config(cfg.data)
    train_set, eval_set = build_datasets(cfg, dcfg)
    task = _DatasetTask(mcfg, dcfg, train_set, eval_set)
    logger_cfg = OmegaConf.to_container(cfg.logger, resolve=True) if "logger" in cfg else None
    trainer = Trainer(trainer_config_from(cfg.trainer), task, Path(cfg.run_dir), logger_cfg, seed=int(cfg.seed),
                      full_config=OmegaConf.to_container(cfg, resolve=True))
    metrics = trainer.fit()
    baseline = majority_scores(train_set, eval_set)
    out = {"miou": metrics["miou"], **{k: v for k, v in metrics.items() if k != "miou"},
           **{f"majority/{k}": v for k, v in baseline.items()}}
    out.update(pipeline_metrics(cfg, dcfg, trainer.model, eval_set))
    return out


def pipeline_metrics(cfg: DictConfig, dcfg: ContactDataConfig, model: torch.nn.Module,
                     eval_set: Dataset) -> dict[str, float]:
    """Table 1 metrics of `model`'s contacts (contact.pipeline_eval) when the config has a `pipeline:` node."""
    node = OmegaConf.select(cfg, "pipeline")
    if node is None:
        return {}
    pcfg = pipeline_config(OmegaConf.to_container(node, resolve=True))
    body_models = OmegaConf.select(cfg, "paths.body_models")
    model = model.cpu().eval()
    if dcfg.source == "synthetic":
        return synthetic_pipeline(model, eval_set.clips, dcfg.frames, pcfg, body_models)
    root = behave_root(dcfg, OmegaConf.select(cfg, "paths.data_root"))
    cache = Path(OmegaConf.select(cfg, "paths.cache_dir") or ".cache")
    return behave_pipeline(model, root, dcfg, pcfg, body_models, cache)


def load_checkpoint(cfg: DictConfig, mcfg: ContactModelConfig) -> CRRNet:
    """The model of cfg.ckpt: a model folder (config.json + model.safetensors) rebuilds itself; a bare weights
    file (.safetensors / .pt) is loaded into CRRNet(cfg.model)."""
    if cfg.get("ckpt") in (None, "", "???"):
        raise ValueError("ckpt is not set: pass ckpt=<run_dir>/checkpoints/final (a CRRNet model folder)")
    ckpt = Path(cfg.ckpt)
    if not (ckpt / "config.json").is_file():
        return load_model_weights(CRRNet(mcfg), ckpt)
    model = load_model_folder(ckpt)
    if not isinstance(model, CRRNet):
        raise TypeError(f"ckpt={ckpt} holds a {type(model).__name__}, not a contact CRRNet model folder")
    return model


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Held-out contact scores of a checkpoint (cfg.ckpt), the majority-class baseline (majority/*), and, when
    the config has a `pipeline:` node, the Table 1 reconstruction metrics (contact.pipeline_eval)."""
    mcfg, dcfg = model_config(cfg.model), data_config(cfg.data)
    train_set, eval_set = build_datasets(cfg, dcfg)
    model = load_checkpoint(cfg, mcfg)       # a model folder brings its own config; `model` serves the pipeline
    tcfg = trainer_config_from(cfg.trainer)
    scores = evaluate_checkpoint(_DatasetTask(model.cfg, dcfg, train_set, eval_set), cfg.ckpt,
                                 tcfg.eval_batch_size, tcfg.num_workers, seed=int(cfg.seed))
    baseline = majority_scores(train_set, eval_set)
    out = {"miou": scores["miou"], **{k: v for k, v in scores.items() if k != "miou"},
           **{f"majority/{k}": v for k, v in baseline.items()}}
    out.update(pipeline_metrics(cfg, dcfg, model, eval_set))
    return out
