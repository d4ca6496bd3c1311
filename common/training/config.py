"""Typed configuration of the shared training runtime (mirrors configs/trainer/default.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainerConfig:
    """Optimisation, evaluation, checkpointing and precision settings for `common.training.Trainer`."""

    max_steps: int = 1000                      # optimiser steps (after gradient accumulation)
    batch_size: int = 8                        # per process, per micro-step
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
    ckpt_every: int = 0                        # 0 = only at the end
    keep_last: int = 2                         # rolling checkpoints kept (best is kept separately)
    best_metric: str | None = None             # metric name from evaluate(); null = no best checkpoint
    best_mode: str = "min"                     # min | max
    resume: str = "auto"                       # auto = newest checkpoint in the run dir; none; or a path
    progress_bar: bool = True

    def __post_init__(self) -> None:
        """Reject unknown choices and impossible values with the key name and the allowed values."""
        choices = {"optimizer": ("adamw", "adam"), "scheduler": ("cosine", "constant"),
                   "precision": ("auto", "bf16", "fp32"), "best_mode": ("min", "max")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"trainer.{key}={getattr(self, key)!r}: choose one of {allowed}")
        for key in ("max_steps", "batch_size", "eval_batch_size", "grad_accum"):
            if getattr(self, key) < 1:
                raise ValueError(f"trainer.{key}={getattr(self, key)} must be >= 1")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"trainer.warmup_ratio={self.warmup_ratio} must be in [0, 1)")


def trainer_config_from(node: object) -> TrainerConfig:
    """Validate a `cfg.trainer` node (DictConfig or dict) against `TrainerConfig`; unknown keys fail."""
    from omegaconf import OmegaConf

    merged = OmegaConf.merge(OmegaConf.structured(TrainerConfig), node)
    return OmegaConf.to_object(merged)
