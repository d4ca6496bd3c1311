"""Worker launched by torchrun in test_ddp_two_cpu_processes: trains the toy task with 2 ranks and
evaluates it sharded over the ranks (predict on each rank, metrics on rank 0)."""

import json
import sys
from pathlib import Path

import torch

from common.training import Trainer, TrainerConfig
from tests.common.toy_task import ShardedToyTask

if __name__ == "__main__":
    out = Path(sys.argv[1])
    cfg = TrainerConfig(max_steps=16, batch_size=4, lr=3e-2, eval_every=4, ckpt_every=8, best_metric="mse",
                        eval_batch_size=4, progress_bar=False)
    trainer = Trainer(cfg, ShardedToyTask(), out / "run", seed=0)
    final = trainer.fit()
    rank = trainer.accelerator.process_index
    torch.save(trainer.model.state_dict(), out / f"weights_rank{rank}.pt")
    (out / f"final_rank{rank}.json").write_text(json.dumps(final))
