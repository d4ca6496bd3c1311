"""The shared trainer/logger/seed keys mapped onto transformers' TrainingArguments (TRL configs too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers.trainer_utils import get_last_checkpoint

from common.training.config import TrainerConfig


def hf_precision(precision: str) -> dict[str, bool]:
    """bf16 on CUDA for `auto`/`bf16`; on CPU fp32 (`use_cpu` also stops TRL's bf16 default failing)."""
    cuda = torch.cuda.is_available()
    return {"bf16": precision == "bf16" or (precision == "auto" and cuda), "use_cpu": not cuda}


def hf_training_kwargs(tc: TrainerConfig, output_dir: str | Path, seed: int, logger_name: str = "none",
                       epochs: float | None = None) -> dict[str, Any]:
    """Keyword arguments for TrainingArguments / SFTConfig / GRPOConfig from `cfg.trainer` and friends.

    `epochs` (when given) replaces `max_steps` as the training length, as the paper recipes state it.
    """
    if tc.scheduler == "constant":
        scheduler, sched_kwargs = "constant_with_warmup", {}
    elif tc.min_lr_ratio > 0:
        scheduler, sched_kwargs = "cosine_with_min_lr", {"min_lr_rate": tc.min_lr_ratio}
    else:
        scheduler, sched_kwargs = "cosine", {}
    save = ({"save_strategy": "steps", "save_steps": tc.ckpt_every, "save_total_limit": tc.keep_last}
            if tc.ckpt_every > 0 else {"save_strategy": "no"})
    return {
        "output_dir": str(output_dir), "seed": seed, "data_seed": seed,
        "max_steps": -1 if epochs else tc.max_steps, "num_train_epochs": float(epochs or 1),
        "per_device_train_batch_size": tc.batch_size, "per_device_eval_batch_size": tc.eval_batch_size,
        "gradient_accumulation_steps": tc.grad_accum, "learning_rate": tc.lr,
        "weight_decay": tc.weight_decay if tc.optimizer == "adamw" else 0.0,
        "adam_beta1": tc.betas[0], "adam_beta2": tc.betas[1], "optim": "adamw_torch",
        "lr_scheduler_type": scheduler, "lr_scheduler_kwargs": sched_kwargs, "warmup_steps": tc.warmup_ratio,
        "max_grad_norm": tc.grad_clip or 0.0, "logging_steps": tc.log_every,
        "dataloader_num_workers": tc.num_workers, "disable_tqdm": not tc.progress_bar,
        "report_to": ["wandb"] if logger_name == "wandb" else "none",
        **save, **hf_precision(tc.precision),
    }


def hf_resume_checkpoint(resume: str, output_dir: str | Path) -> str | None:
    """`auto` = newest `checkpoint-N` in the HF output dir (None if there is none), `none`, or a path."""
    if resume == "none":
        return None
    if resume == "auto":
        return get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None
    if not Path(resume).is_dir():
        raise FileNotFoundError(f"trainer.resume={resume!r} is not a folder; pass an HF checkpoint-N folder, "
                                "'auto' or 'none'")
    return resume
