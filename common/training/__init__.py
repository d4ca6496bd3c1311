"""Shared training runtime for the non-Hugging-Face models (kinematics, contact, eggflow, tiger).

`Trainer(cfg, task, run_dir).fit()` trains a `TrainTask` with AdamW/Adam, warm-up + cosine schedule,
gradient clipping and accumulation, bf16 autocast on CUDA, DDP/DeepSpeed through accelerate, evaluation
every N steps (sharded over ranks when the task has predict/compute_metrics), atomic checkpoints (last K +
best + final), exact resume that skips unreadable checkpoints, and a checkpoint on SIGTERM/SIGINT/SIGUSR1/2.
"""

from common.training.checkpoint import atomic_save, load_model_weights
from common.training.config import TrainerConfig, per_device_batch, trainer_config_from
from common.training.evaluation import evaluate_checkpoint
from common.training.seeding import seed_everything
from common.training.signals import EXIT_CHECKPOINTED, StopSignals, TrainingStopped
from common.training.task import TrainTask
from common.training.trainer import Trainer

__all__ = [
           "EXIT_CHECKPOINTED",
           "StopSignals",
           "TrainTask",
           "Trainer",
           "TrainerConfig",
           "TrainingStopped",
           "atomic_save",
           "evaluate_checkpoint",
           "load_model_weights",
           "per_device_batch",
           "seed_everything",
           "trainer_config_from",
]
