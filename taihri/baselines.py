"""Baselines: mean pose, and direct regression (the VLM's vision encoder + MLP head -> camera-frame joints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from common.training import Trainer, TrainerConfig, TrainTask
from taihri.config import TaihriModelConfig
from taihri.data import NUM_BODY_JOINTS, to_pil
from taihri.vlm import build_model_and_processor


class JointRegressor(nn.Module):
    """Vision tower of the (tiny or pretrained) VLM, mean-pooled, MLP head -> (B,22,3) camera metres."""

    def __init__(self, visual: nn.Module, feature_dim: int, hidden: int, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.visual = visual
        self.head = nn.Sequential(nn.Linear(feature_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                  nn.GELU(), nn.Linear(hidden, NUM_BODY_JOINTS * 3))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, pixel_values: torch.Tensor, image_grid_thw: torch.Tensor) -> torch.Tensor:
        """Camera-frame joints (B,22,3) in metres."""
        out = self.visual(pixel_values.to(self.head[0].weight.dtype), grid_thw=image_grid_thw)
        tokens = out.pooler_output if hasattr(out, "pooler_output") else out
        sizes = (image_grid_thw.prod(-1) // self.visual.spatial_merge_size ** 2).tolist()
        pooled = torch.stack([chunk.mean(0) for chunk in torch.split(tokens, sizes)])
        return self.head(pooled).view(-1, NUM_BODY_JOINTS, 3) * self.std + self.mean


class _ImageJoints(Dataset):
    """(pixel_values, grid_thw, joints (22,3) m) per sample, images processed by the VLM image processor."""

    def __init__(self, samples: list[dict], image_processor: Any) -> None:
        self.items = []
        for sample in samples:
            enc = image_processor(images=[to_pil(sample["image"])], return_tensors="pt")
            self.items.append((enc["pixel_values"], enc["image_grid_thw"],
                               torch.as_tensor(sample["joints_cam"], dtype=torch.float32)))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.items[index]


def _collate(items: list) -> dict[str, torch.Tensor]:
    """Concatenate patch rows and grids; stack joints."""
    return {"pixel_values": torch.cat([i[0] for i in items]), "image_grid_thw": torch.cat([i[1] for i in items]),
            "joints": torch.stack([i[2] for i in items])}


class RegressionTask(TrainTask):
    """Direct regression of camera-frame joints with an L1 loss (common.training runtime)."""

    def __init__(self, model_cfg: TaihriModelConfig, train_samples: list[dict], eval_samples: list[dict]):
        self.model_cfg = model_cfg
        _, self.processor = build_model_and_processor(model_cfg)
        self.train_samples, self.eval_samples = train_samples, eval_samples
        joints = np.stack([s["joints_cam"] for s in train_samples])
        self.mean, self.std = joints.mean(0), joints.reshape(-1, 3).std(0) + 1e-3

    def build_model(self) -> nn.Module:
        vlm, _ = build_model_and_processor(self.model_cfg)
        visual = vlm.model.visual
        feature_dim = vlm.config.vision_config.out_hidden_size
        return JointRegressor(visual, feature_dim, self.model_cfg.regression.head_hidden, self.mean, self.std)

    def train_dataset(self) -> Dataset:
        return _ImageJoints(self.train_samples, self.processor.image_processor)

    def eval_dataset(self) -> Dataset | None:
        return _ImageJoints(self.eval_samples, self.processor.image_processor)

    def collate(self, items: list) -> dict[str, torch.Tensor]:
        return _collate(items)

    def training_step(self, model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        pred = model(batch["pixel_values"], batch["image_grid_thw"])
        loss = (pred - batch["joints"]).abs().mean()
        return loss, {"l1_m": float(loss.detach())}

    def evaluate(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        errors = [torch.linalg.norm(model(b["pixel_values"], b["image_grid_thw"]) - b["joints"], dim=-1)
                  for b in loader]
        return {"mpjpe_mm": float(torch.cat(errors).mean() * 1000.0)}


def train_regressor(model_cfg: TaihriModelConfig, train_samples: list[dict], eval_samples: list[dict],
                    run_dir: Path, seed: int, precision: str = "auto") -> nn.Module:
    """Train the direct-regression baseline with the shared Trainer; returns the trained module."""
    reg = model_cfg.regression
    cfg = TrainerConfig(max_steps=reg.max_steps, batch_size=reg.batch_size, lr=reg.lr, log_every=50,
                        progress_bar=False, resume="none", precision=precision, weight_decay=1e-4)
    trainer = Trainer(cfg, RegressionTask(model_cfg, train_samples, eval_samples), run_dir, seed=seed)
    trainer.fit()
    return trainer.model


@torch.no_grad()
def copy_vision_tower(regressor: JointRegressor, vlm: nn.Module) -> None:
    """Initialise the VLM's vision tower (incl. merger) from the trained regressor's (tiny random-init VLMs)."""
    vlm.model.visual.load_state_dict(regressor.visual.state_dict())


@torch.no_grad()
def predict_regressor(model: nn.Module, samples: list[dict], image_processor: Any) -> np.ndarray:
    """(S,22,3) camera-frame predictions (m) of the regression baseline."""
    model.eval()
    data = _ImageJoints(samples, image_processor)
    batches = [_collate(data.items[i:i + 32]) for i in range(0, len(data), 32)]
    device = next(model.parameters()).device
    return torch.cat([model(b["pixel_values"].to(device), b["image_grid_thw"].to(device)).float().cpu()
                      for b in batches]).numpy()
