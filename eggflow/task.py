"""`EggFlowTask`: the eggflow model, data and evaluation for `common.training.Trainer`."""

from __future__ import annotations

import dataclasses
import logging
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from common.cache import cache_key, cache_path, cached_tensors
from common.training import TrainTask
from eggflow.config import EggFlowDataConfig, EggFlowModelConfig
from eggflow.data import WINDOW_KEYS, ForecastDataset, build_synthetic, split_statistics
from eggflow.encoder import EgoVideoEncoder, vocabulary_words
from eggflow.evaluation import forecast_metrics, predict
from eggflow.model import EggFlowModel

log = logging.getLogger(__name__)
CACHE_VERSION = 6


class EggFlowData:
    """Train/eval datasets built once and shared by runs; `model_cfg` is the model config completed for this data
    (the word-level vocabulary of the real task texts). Statistics stream over the whole training split."""

    def __init__(self, model_cfg: EggFlowModelConfig, data_cfg: EggFlowDataConfig, cache_dir: Path,
                 encoder_seed: int = 0) -> None:
        self.cfg, self.cache_dir, self.encoder_seed = data_cfg, Path(cache_dir), encoder_seed
        self.model_cfg = model_cfg
        self.frames = np.zeros((0,), np.uint8)
        self.eval_texts: list[str] = []
        if data_cfg.source == "lerobot":
            self.train, self.eval = self._load_lerobot(model_cfg)
        else:
            self.train, self.eval = self._load_synthetic()
        acc = split_statistics(self.train)
        self.stats, self.mean_pose = acc.stats(), acc.mean_pose()

    @cached_property
    def encoder(self) -> EgoVideoEncoder:
        """The frozen encoder (built on first use: the raw-input path never needs it here)."""
        encoder = EgoVideoEncoder(self.model_cfg.encoder, self.encoder_seed)
        encoder.load_pretrained()
        return encoder

    def _load_lerobot(self, model_cfg: EggFlowModelConfig) -> tuple[Dataset, Dataset]:
        from eggflow.lerobot import CachedFeatures, lerobot_datasets, open_root, task_texts

        words = vocabulary_words(task_texts(open_root(self.cfg)))
        if not model_cfg.encoder.tokenizer:
            self.model_cfg = dataclasses.replace(model_cfg, encoder=dataclasses.replace(model_cfg.encoder,
                                                                                           words=words))
        train, evals = lerobot_datasets(self.cfg, words)
        self.eval_texts = [evals.texts[e] for e in sorted(evals.texts)][:8]
        if not self.cfg.cache_features:
            return train, evals
        key = (self.model_cfg.encoder, self.encoder_seed, train.reader.info.get("total_frames"))
        return (CachedFeatures(train, self.encoder, self.cache_dir, key),
                CachedFeatures(evals, self.encoder, self.cache_dir, key))

    def _load_synthetic(self) -> tuple[ForecastDataset, ForecastDataset]:
        """Synthetic clips with cached frozen features (safetensors under paths.cache_dir/eggflow)."""
        key = cache_key("eggflow-synthetic", CACHE_VERSION, self.cfg, self.model_cfg.encoder, self.encoder_seed)
        blob = cached_tensors(cache_path(self.cache_dir, "eggflow", key, ".safetensors"), self._build_synthetic)
        self.frames = blob["frames"].numpy()
        self.eval_texts = bytes(blob["eval_texts"].numpy()).decode().split("\n")

        def dataset(split: str) -> ForecastDataset:
            arrays = {k: blob[f"{split}/{k}"].numpy() for k in WINDOW_KEYS}
            feats = {k: blob[f"{split}/{k}"] for k in ("vision_feats", "text_feats")}
            return ForecastDataset(arrays, blob[f"{split}/egomotion"].numpy(), feats)

        return dataset("train"), dataset("eval")

    def _build_synthetic(self) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        flags = {"noisy_vision": cfg.noisy_vision, "dummy_language": cfg.dummy_language}
        train, _, _ = build_synthetic(cfg, self.encoder, cfg.train_clips, cfg.seed, **flags)
        evals, frames, texts = build_synthetic(cfg, self.encoder, cfg.eval_clips, cfg.seed + 1, keep_frames=8, **flags)
        blob = {"frames": torch.from_numpy(np.ascontiguousarray(frames)),
                "eval_texts": torch.frombuffer(bytearray("\n".join(texts[:8]).encode()), dtype=torch.uint8)}
        for split, ds in (("train", train), ("eval", evals)):
            blob.update({f"{split}/{k}": v for k, v in ds.arrays.items()})
            blob.update({f"{split}/{k}": v for k, v in ds.features.items()})
            blob[f"{split}/egomotion"] = torch.from_numpy(ds.egomotion)
        return blob


class EggFlowTask(TrainTask):
    """Trains EggFlowModel with EggHand's objective (or the velocity loss) on the shared datasets."""

    def __init__(self, data: EggFlowData, eval_set: Dataset | None = None, init_state: dict | None = None,
                 model_cfg: EggFlowModelConfig | None = None) -> None:
        self.data = data
        self.model_cfg = data.model_cfg if model_cfg is None else model_cfg
        self.eval_set = data.eval if eval_set is None else eval_set
        self.init_state = init_state

    def build_model(self) -> nn.Module:
        """Fresh model with the data's normalisation, the pretrained EgoVideo / GR00T weights the config names,
        and optionally a pretrained head state."""
        cfg = self.data.cfg
        model = EggFlowModel(self.model_cfg, cfg.obs_len, cfg.horizon, self.data.encoder_seed)
        model.load_pretrained_parts()
        model.set_normalisation(**self.data.stats)
        if self.init_state is not None:
            model.action_head.load_state_dict(self.init_state)
        return model

    def train_dataset(self) -> Dataset:
        """Training windows."""
        return self.data.train

    def eval_dataset(self) -> Dataset | None:
        """Held-out windows."""
        return self.eval_set

    def training_step(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of one micro-batch."""
        return model(batch)

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """ADE first (the primary metric), then FDE, MPJPE, MPJPE-F and per-horizon wrist errors."""
        out = predict(model, loader)
        return forecast_metrics(out["pred"], out["gt"], out["valid"])
