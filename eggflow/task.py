"""`EggFlowTask`: the eggflow model, data and evaluation for `common.training.Trainer`."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from common.training import TrainTask
from eggflow.baselines import mean_pose
from eggflow.config import EggFlowDataConfig, EggFlowModelConfig
from eggflow.data import ForecastDataset, build_synthetic, normalisation_stats
from eggflow.encoder import EgoVideoEncoder
from eggflow.evaluation import forecast_metrics, predict
from eggflow.model import EggFlowModel

log = logging.getLogger(__name__)


class EggFlowData:
    """Train/eval datasets built once (frozen features cached in memory and on disk) and shared by runs."""

    def __init__(self, model_cfg: EggFlowModelConfig, data_cfg: EggFlowDataConfig, cache_dir: Path,
                 encoder_seed: int = 0) -> None:
        self.model_cfg, self.cfg, self.cache_dir, self.encoder_seed = model_cfg, data_cfg, cache_dir, encoder_seed
        self.encoder = EgoVideoEncoder(model_cfg.encoder, cache_dir, encoder_seed)
        self.frames = np.zeros((0,), np.uint8)
        self.eval_texts: list[str] = []
        self.train, self.eval = self._load()
        n = len(self.train)
        self.train_arrays = self.train.window_arrays(np.linspace(0, n - 1, min(n, 4000)).astype(int))
        self.stats = normalisation_stats(self.train_arrays)
        self.mean_pose = mean_pose(self.train_arrays["future"], self.train_arrays["future_valid"])

    def _key(self) -> str:
        spec = {"data": asdict(self.cfg), "encoder": asdict(self.model_cfg.encoder),
                "seed": self.encoder_seed, "version": 5}
        return hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def _load(self) -> tuple[ForecastDataset, ForecastDataset]:
        if self.cfg.source == "lerobot":
            from eggflow.lerobot import lerobot_datasets
            return lerobot_datasets(self.cfg)
        path = self.cache_dir / "eggflow" / f"synthetic_{self._key()}.pt"
        if path.exists():
            blob = torch.load(path, weights_only=False)
        else:
            cfg = self.cfg
            flags = {"noisy_vision": cfg.noisy_vision, "dummy_language": cfg.dummy_language}
            train, _, _ = build_synthetic(cfg, self.encoder, cfg.train_clips, cfg.seed, **flags)
            evals, frames, texts = build_synthetic(cfg, self.encoder, cfg.eval_clips, cfg.seed + 1,
                                                   keep_frames=8, **flags)
            blob = {"train": train, "eval": evals, "frames": frames, "texts": texts}
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(blob, path)
        self.frames, self.eval_texts = blob["frames"], blob["texts"]
        return blob["train"], blob["eval"]


class EggFlowTask(TrainTask):
    """Trains EggFlowModel with EggHand's objective (or the velocity loss) on the shared datasets."""

    def __init__(self, model_cfg: EggFlowModelConfig, data: EggFlowData, eval_set: Dataset | None = None,
                 init_state: dict | None = None) -> None:
        self.model_cfg, self.data = model_cfg, data
        self.eval_set = data.eval if eval_set is None else eval_set
        self.init_state = init_state

    def build_model(self) -> nn.Module:
        """Fresh model with the data's normalisation; optionally initialised from a pretrained head."""
        cfg = self.data.cfg
        model = EggFlowModel(self.model_cfg, cfg.obs_len, cfg.horizon, self.data.cache_dir, self.data.encoder_seed)
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
