"""Shared training runtime for the non-Hugging-Face models (kinematics, contact, eggflow, tiger).

`Trainer(cfg, task, run_dir).fit()` trains a `TrainTask` with AdamW/Adam, warm-up + cosine schedule,
gradient clipping and accumulation, bf16 autocast on CUDA, DDP/DeepSpeed through accelerate, evaluation
every N steps, atomic checkpoints (last K + best + final) and exact resume.
"""

from common.training.checkpoint import atomic_save, load_model_weights
from common.training.config import TrainerConfig, trainer_config_from
from common.training.seeding import seed_everything
from common.training.task import TrainTask
from common.training.trainer import Trainer

__all__ = [
           "TrainTask",
           "Trainer",
           "TrainerConfig",
           "atomic_save",
           "load_model_weights",
           "seed_everything",
           "trainer_config_from",
]
