"""Worker launched by torchrun in test_ddp_two_cpu_processes: trains the toy task with 2 ranks."""

import sys
from pathlib import Path

import torch

from common.training import Trainer, TrainerConfig
from tests.common.toy_task import ToyTask

if __name__ == "__main__":
    out = Path(sys.argv[1])
    cfg = TrainerConfig(max_steps=16, batch_size=4, lr=3e-2, eval_every=4, ckpt_every=8, best_metric="mse",
                        progress_bar=False)
    trainer = Trainer(cfg, ToyTask(), out / "run", seed=0)
    trainer.fit()
    rank = trainer.accelerator.process_index
    torch.save(trainer.model.state_dict(), out / f"weights_rank{rank}.pt")
