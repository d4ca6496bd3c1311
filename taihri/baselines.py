"""Baselines: mean pose, and direct regression (the VLM's vision encoder + MLP head -> camera-frame joints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from transformers import Qwen2_5_VLVisionConfig, Qwen3VLVisionConfig
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel
from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLVisionModel

from common.models import ModelCardInfo, ModelFolderMixin
from common.training import Trainer, TrainerConfig, TrainTask
from common.training.hf_dist import barrier, is_main
from taihri.config import TaihriModelConfig
from taihri.data import NUM_BODY_JOINTS
from taihri.frames import Frames
from taihri.vlm import build_model_and_processor

_VISION = {"qwen3_vl": (Qwen3VLVisionConfig, Qwen3VLVisionModel),
           "qwen2_5_vl": (Qwen2_5_VLVisionConfig, Qwen2_5_VisionTransformerPretrainedModel)}


class JointRegressor(nn.Module, ModelFolderMixin):
    """Vision tower of the (tiny or pretrained) VLM, mean-pooled, MLP head -> (B,22,3) camera metres.

    A self-describing model folder: `vision_config` is the VLM's vision config (dict), `mean`/`std` the
    training joint statistics (m) the head output is scaled by.
    """

    def __init__(self, backbone: str, vision_config: dict, hidden: int, mean: list[list[float]],
                 std: list[float]) -> None:
        super().__init__()
        config_cls, model_cls = _VISION[backbone]
        config = config_cls(**vision_config)
        self.visual = model_cls._from_config(config)
        self.head = nn.Sequential(nn.Linear(config.out_hidden_size, hidden), nn.GELU(), nn.Linear(hidden, hidden),
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
    """(pixel_values, grid_thw, joints (22,3) m) per frame; the image is read and processed at access."""

    def __init__(self, frames: Frames, image_processor: Any) -> None:
        self.frames, self.image_processor = frames, image_processor

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc = self.image_processor(images=[self.frames.image(index)], return_tensors="pt")
        joints = torch.as_tensor(np.asarray(self.frames.annotations[index]["joints_cam"])[:NUM_BODY_JOINTS],
                                 dtype=torch.float32)
        return enc["pixel_values"], enc["image_grid_thw"], joints


def _collate(items: list) -> dict[str, torch.Tensor]:
    """Concatenate patch rows and grids; stack joints."""
    return {"pixel_values": torch.cat([i[0] for i in items]), "image_grid_thw": torch.cat([i[1] for i in items]),
            "joints": torch.stack([i[2] for i in items])}


class RegressionTask(TrainTask):
    """Direct regression of camera-frame joints with an L1 loss (common.training runtime)."""

    def __init__(self, model_cfg: TaihriModelConfig, train_frames: Frames, eval_frames: Frames):
        self.model_cfg = model_cfg
        self.vlm, self.processor = build_model_and_processor(model_cfg)
        self.train_frames, self.eval_frames = train_frames, eval_frames
        joints = train_frames.joints_cam()
        self.mean, self.std = joints.mean(0), joints.reshape(-1, 3).std(0) + 1e-3

    def build_model(self) -> nn.Module:
        vision = self.vlm.config.vision_config.to_dict()
        model = JointRegressor(self.model_cfg.backbone, vision, self.model_cfg.regression.head_hidden,
                               self.mean.tolist(), self.std.tolist())
        model.visual.load_state_dict(self.vlm.model.visual.state_dict())
        return model

    def train_dataset(self) -> Dataset:
        return _ImageJoints(self.train_frames, self.processor.image_processor)

    def eval_dataset(self) -> Dataset | None:
        return _ImageJoints(self.eval_frames, self.processor.image_processor)

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


def train_regressor(model_cfg: TaihriModelConfig, train_frames: Frames, eval_frames: Frames, run_dir: Path,
                    seed: int, precision: str = "auto") -> JointRegressor:
    """Train the direct-regression baseline with the shared Trainer; returns it.

    `<run_dir>/checkpoints/final` (the trainer's final weights) is completed into a self-describing model
    folder (config.json + README.md) that `common.models.load_model_folder` reloads.
    """
    reg = model_cfg.regression
    cfg = TrainerConfig(max_steps=reg.max_steps, batch_size=reg.batch_size, lr=reg.lr, log_every=50,
                        progress_bar=False, resume="none", precision=precision, weight_decay=1e-4)
    trainer = Trainer(cfg, RegressionTask(model_cfg, train_frames, eval_frames), run_dir, seed=seed)
    metrics = trainer.fit()
    model = trainer.model
    if is_main():
        model.save_pretrained(Path(run_dir) / "checkpoints" / "final", card=ModelCardInfo(
            paper="taihri", data="see the run's config.yaml",
            metrics={k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
            notes="Direct-regression baseline: the VLM's vision tower + MLP head -> 22 camera-frame joints (m)."))
    barrier()
    return model


@torch.no_grad()
def copy_vision_tower(regressor: JointRegressor, vlm: nn.Module) -> None:
    """Initialise the VLM's vision tower (incl. merger) from the trained regressor's (tiny random-init VLMs)."""
    vlm.model.visual.load_state_dict(regressor.visual.state_dict())


@torch.no_grad()
def predict_regressor(model: nn.Module, frames: Frames, image_processor: Any, batch_size: int = 32) -> np.ndarray:
    """(S,22,3) camera-frame predictions (m) of the regression baseline (images read batch by batch)."""
    model.eval()
    data = _ImageJoints(frames, image_processor)
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(data), batch_size):
        batch = _collate([data[i] for i in range(start, min(start + batch_size, len(data)))])
        out.append(model(batch["pixel_values"].to(device), batch["image_grid_thw"].to(device)).float().cpu())
    return torch.cat(out).numpy()
