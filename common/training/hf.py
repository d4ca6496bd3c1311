"""The shared trainer/logger/seed keys mapped onto transformers' TrainingArguments (TRL configs too)."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from common.training.config import TrainerConfig, per_device_batch
from common.training.hf_reliability import STAGING

log = logging.getLogger(__name__)
_CHECKPOINT = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")


def hf_precision(precision: str) -> dict[str, bool]:
    """bf16 on CUDA for `auto`/`bf16`; on CPU fp32 (`use_cpu` also stops TRL's bf16 default failing)."""
    cuda = torch.cuda.is_available()
    return {"bf16": precision == "bf16" or (precision == "auto" and cuda), "use_cpu": not cuda}


def hf_training_kwargs(tc: TrainerConfig, output_dir: str | Path, seed: int, logger_name: str = "none",
                       epochs: float | None = None, run_name: str | None = None) -> dict[str, Any]:
    """Keyword arguments for TrainingArguments / SFTConfig / GRPOConfig from `cfg.trainer` and friends.

    `epochs` (when given) replaces `max_steps` as the training length, as the paper recipes state it.
    A non-finite loss is not filtered (the `ReliableTrainerMixin` stops on it); workers are not persistent so
    a dataset's `set_epoch` reaches them; pinned memory on CUDA.
    """
    if tc.scheduler == "constant":
        scheduler, sched_kwargs = "constant_with_warmup", {}
    elif tc.min_lr_ratio > 0:
        scheduler, sched_kwargs = "cosine_with_min_lr", {"min_lr_rate": tc.min_lr_ratio}
    else:
        scheduler, sched_kwargs = "cosine", {}
    save = ({"save_strategy": "steps", "save_steps": tc.ckpt_every} if tc.ckpt_every > 0 else {"save_strategy": "no"})
    return {
        "output_dir": str(output_dir), "seed": seed, "data_seed": seed,
        "max_steps": -1 if epochs else tc.max_steps, "num_train_epochs": float(epochs or 1),
        "per_device_train_batch_size": per_device_batch(tc, int(os.environ.get("WORLD_SIZE", "1"))),
        "per_device_eval_batch_size": tc.eval_batch_size,
        "gradient_accumulation_steps": tc.grad_accum, "learning_rate": tc.lr,
        "weight_decay": tc.weight_decay if tc.optimizer == "adamw" else 0.0,
        "adam_beta1": tc.betas[0], "adam_beta2": tc.betas[1], "optim": "adamw_torch",
        "lr_scheduler_type": scheduler, "lr_scheduler_kwargs": sched_kwargs, "warmup_steps": tc.warmup_ratio,
        "max_grad_norm": tc.grad_clip or 0.0, "logging_steps": tc.log_every,
        "dataloader_num_workers": tc.num_workers, "dataloader_pin_memory": torch.cuda.is_available(),
        "dataloader_persistent_workers": False, "logging_nan_inf_filter": False,
        "disable_tqdm": not tc.progress_bar, "run_name": run_name,
        "ddp_timeout": int(60 * tc.collective_timeout_minutes),
        "report_to": ["wandb"] if logger_name == "wandb" else "none",
        "save_total_limit": tc.keep_last, **save, **hf_precision(tc.precision),
    }


def hf_resume_checkpoint(resume: str, output_dir: str | Path) -> str | None:
    """`auto` = newest complete `checkpoint-N` in the HF output dir (None if none), `none`, or a path.

    Incomplete checkpoints (a kill while writing: left under `.incomplete/`, or a folder without
    trainer_state.json written by an older non-atomic writer) are skipped with a warning naming them.
    """
    if resume == "none":
        return None
    if resume != "auto":
        if not (Path(resume) / TRAINER_STATE_NAME).is_file():
            raise FileNotFoundError(f"trainer.resume={resume!r} is not a complete HF checkpoint-N folder (no "
                                    f"{TRAINER_STATE_NAME}); pass one, 'auto' or 'none'")
        return resume
    out = Path(output_dir)
    if not out.is_dir():
        return None
    for staged in sorted((out / STAGING).glob(f"{PREFIX_CHECKPOINT_DIR}-*")):
        log.warning("skipping incomplete checkpoint %s (the run was killed while writing it)", staged)
    found = sorted((int(m.group(1)), p) for p in out.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name)))
    for _, path in reversed(found):
        if (path / TRAINER_STATE_NAME).is_file():
            log.info("resuming from %s", path)
            return str(path)
        log.warning("skipping incomplete checkpoint %s (no %s); trying the previous one", path, TRAINER_STATE_NAME)
    return None


def hf_init_wandb(logger: Any, output_dir: str | Path, full_config: dict | None = None) -> Any:
    """Start the wandb run the HF trainers' WandbCallback then reuses, from `cfg.logger` (main process only).

    mode (default offline: no API key needed), dir (default output_dir), project, name, entity and tags come from
    the logger config, and the full resolved run config is recorded. Returns the run, or None when
    `logger.name != wandb` or on a non-main process.
    """
    cfg = dict(logger or {})
    if cfg.get("name", "none") != "wandb" or int(os.environ.get("RANK", "0")) != 0:
        return None
    import wandb

    mode = cfg.get("mode") or os.environ.get("WANDB_MODE") or "offline"
    os.environ["WANDB_MODE"] = mode
    folder = Path(cfg.get("dir") or output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return wandb.init(project=cfg.get("project"), entity=cfg.get("entity"), name=cfg.get("run_name"), mode=mode,
                      dir=str(folder), config=full_config, tags=list(cfg.get("tags") or []), reinit="finish_previous")
