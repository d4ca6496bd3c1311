"""Typed configuration of the shared training runtime (mirrors configs/trainer/default.yaml)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TrainerConfig:
    """Optimisation, evaluation, checkpointing and precision settings for `common.training.Trainer`."""

    max_steps: int = 1000                      # optimiser steps (after gradient accumulation); 0 = evaluate only
    batch_size: int = 8                        # per process, per micro-step (derived if global_batch_size)
    global_batch_size: int | None = None       # samples per optimiser step over all ranks; fixes the schedule
    eval_batch_size: int = 16
    grad_accum: int = 1
    optimizer: str = "adamw"                  # adamw | adam
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    scheduler: str = "cosine"                  # cosine | constant
    warmup_ratio: float = 0.0                  # fraction of max_steps with linear warm-up
    min_lr_ratio: float = 0.0                  # cosine floor as a fraction of lr
    grad_clip: float | None = 1.0              # max global grad norm; null disables
    precision: str = "auto"                    # auto (bf16 autocast on CUDA, fp32 on CPU) | bf16 | fp32
    num_workers: int = 0
    log_every: int = 10
    eval_every: int = 0                        # 0 = only at the end
    ckpt_every: int = 0                        # optimiser steps between checkpoints; 0 = off
    ckpt_every_minutes: float = 30.0           # also checkpoint when this much wall time passed; 0 = off
    keep_last: int = 2                         # rolling checkpoints kept (best is kept separately)
    best_metric: str | None = None             # metric name from evaluate(); null = no best checkpoint
    best_mode: str = "min"                     # min | max
    resume: str = "auto"                       # auto = newest checkpoint in the run dir; none; or a path
    progress_bar: bool = True
    allow_config_change: bool = False          # resume although model/optimiser/data keys changed
    collective_timeout_minutes: float = 30.0   # torch.distributed timeout (long evaluations wait in one)

    def __post_init__(self) -> None:
        """Reject unknown choices and impossible values with the key name and the allowed values."""
        choices = {"optimizer": ("adamw", "adam"), "scheduler": ("cosine", "constant"),
                   "precision": ("auto", "bf16", "fp32"), "best_mode": ("min", "max")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"trainer.{key}={getattr(self, key)!r}: choose one of {allowed}")
        for key in ("batch_size", "eval_batch_size", "grad_accum", "log_every", "keep_last"):
            if getattr(self, key) < 1:
                raise ValueError(f"trainer.{key}={getattr(self, key)} must be >= 1")
        for key in ("max_steps", "eval_every", "ckpt_every", "ckpt_every_minutes", "weight_decay", "num_workers",
                    "min_lr_ratio"):
            if not getattr(self, key) >= 0:
                raise ValueError(f"trainer.{key}={getattr(self, key)} must be >= 0")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"trainer.lr={self.lr} must be a finite number > 0")
        if self.grad_clip is not None and not self.grad_clip >= 0:
            raise ValueError(f"trainer.grad_clip={self.grad_clip} must be >= 0 (null or 0 disables clipping)")
        if self.global_batch_size is not None and self.global_batch_size < 1:
            raise ValueError(f"trainer.global_batch_size={self.global_batch_size} must be >= 1 or null")
        if not self.collective_timeout_minutes > 0:
            raise ValueError(f"trainer.collective_timeout_minutes={self.collective_timeout_minutes} must be > 0")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"trainer.betas={list(self.betas)} must be two numbers in [0, 1)")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"trainer.warmup_ratio={self.warmup_ratio} must be in [0, 1)")
        if self.min_lr_ratio > 1.0:
            raise ValueError(f"trainer.min_lr_ratio={self.min_lr_ratio} must be in [0, 1]")
        if self.resume not in ("auto", "none") and not self.resume:
            raise ValueError("trainer.resume is empty: use auto, none or a checkpoint folder")


def trainer_config_from(node: object) -> TrainerConfig:
    """Validate a `cfg.trainer` node (DictConfig or dict) against `TrainerConfig`; unknown keys fail."""
    from omegaconf import OmegaConf

    merged = OmegaConf.merge(OmegaConf.structured(TrainerConfig), node)
    return OmegaConf.to_object(merged)


def per_device_batch(cfg: TrainerConfig, world_size: int) -> int:
    """Micro-batch per process: `global_batch_size / (world_size * grad_accum)` when set, else batch_size."""
    if cfg.global_batch_size is None:
        return cfg.batch_size
    per, rest = divmod(cfg.global_batch_size, world_size * cfg.grad_accum)
    if rest or per < 1:
        raise ValueError(f"trainer.global_batch_size={cfg.global_batch_size} is not divisible by "
                         f"{world_size} processes x trainer.grad_accum={cfg.grad_accum}; pick a multiple of "
                         f"{world_size * cfg.grad_accum} or change trainer.grad_accum")
    return per
