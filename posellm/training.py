"""Training with the transformers Trainer (shared config keys, the HF reliability guarantees)."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments

from common.training import trainer_config_from
from common.training.hf import hf_resume_checkpoint, hf_training_kwargs
from common.training.hf_reliability import ReliableTrainerMixin
from posellm.config import PoseLLMDataConfig
from posellm.data import collate_train
from posellm.model import Built

log = logging.getLogger(__name__)


def training_arguments(trainer: DictConfig, data: PoseLLMDataConfig, run_dir: Path, seed: int,
                       logger: DictConfig | None) -> TrainingArguments:
    """Shared trainer keys (+ data.epochs as the paper states the length, logger.name) as TrainingArguments."""
    logger_name = (logger or {}).get("name", "none")
    kwargs = hf_training_kwargs(trainer_config_from(trainer), run_dir / "hf", seed, logger_name, epochs=data.epochs,
                                run_name=(logger or {}).get("run_name"))
    return TrainingArguments(**kwargs, remove_unused_columns=False)


class ConnectorLRTrainer(ReliableTrainerMixin, Trainer):
    """HF Trainer (non-finite stop, atomic checkpoints, checkpoint on signal) with the connector at
    `connector_lr_scale` x the learning rate."""

    def __init__(self, *args: Any, connector_lr_scale: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector_lr_scale = connector_lr_scale

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """The default AdamW groups, each split into its connector and non-connector parameters."""
        fresh = self.optimizer is None
        optimizer = super().create_optimizer(model)
        if not fresh or self.connector_lr_scale == 1.0:
            return optimizer
        connector = {id(p) for n, p in (model or self.model).named_parameters() if ".connector." in f".{n}"}
        for group in list(optimizer.param_groups):
            moved = [p for p in group["params"] if id(p) in connector]
            group["params"] = [p for p in group["params"] if id(p) not in connector]
            if moved:
                optimizer.add_param_group({**{k: v for k, v in group.items() if k != "params"}, "params": moved,
                                           "lr": group["lr"] * self.connector_lr_scale})
        optimizer.param_groups[:] = [g for g in optimizer.param_groups if g["params"]]
        return optimizer


def fit(built: Built, train_set: Dataset, trainer_cfg: DictConfig, data: PoseLLMDataConfig, run_dir: Path,
        seed: int, logger: DictConfig | None = None, connector_lr_scale: float = 1.0
        ) -> tuple[dict[str, float], ConnectorLRTrainer]:
    """Train the LoRA/connector parameters (connector at `connector_lr_scale` x lr); resume when asked.

    A stop signal saves checkpoint-N and raises `TrainingStopped` (exit 75); rerun with trainer.resume=auto.
    """
    args = training_arguments(trainer_cfg, data, run_dir, seed, logger)
    adapters_only = all(("lora_" in n or "modules_to_save" in n) for n, p in built.model.named_parameters()
                        if p.requires_grad)
    # HF checkpoints of a PeftModel hold only adapters; when base weights train too, hand over the inner
    # module so checkpoint-N (and resume) carries every weight.
    model = built.model if adapters_only else built.model.get_base_model()
    trainer = ConnectorLRTrainer(model=model, args=args, train_dataset=train_set,
                                 data_collator=partial(collate_train, pad_id=built.codec.tokenizer.pad_token_id),
                                 connector_lr_scale=connector_lr_scale,
                                 ckpt_every_minutes=trainer_config_from(trainer_cfg).ckpt_every_minutes)
    resume = hf_resume_checkpoint(trainer_cfg.resume, Path(args.output_dir))
    result = trainer.train(resume_from_checkpoint=resume)
    return {"train_loss": float(result.training_loss), "train_steps": float(result.global_step),
            "train_runtime_s": float(result.metrics.get("train_runtime", float("nan")))}, trainer
