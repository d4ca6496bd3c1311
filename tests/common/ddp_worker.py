"""Worker launched by torchrun in test_ddp_two_cpu_processes: trains the toy task with 2 ranks, evaluation sharded
over the ranks (predict on each rank, metrics on rank 0). With `stop`, rank 0 sends SIGUSR1 to its torchrun agent
(the parent process) during step 3; the agent forwards it to both workers, which checkpoint and exit 75."""

import json
import os
import signal
import sys
from pathlib import Path

import torch

from common.training import Trainer, TrainerConfig
from tests.common.toy_task import ShardedToyTask


class SignalsAgent(ShardedToyTask):
    """ShardedToyTask whose rank 0 signals the torchrun agent at micro-batch 3 when `stop` is set."""

    def __init__(self, stop: bool):
        super().__init__()
        self.stop = stop

    def training_step(self, model, batch):
        if self.stop and self.calls == 2 and os.environ.get("RANK") == "0":
            os.kill(os.getppid(), signal.SIGUSR1)
        return super().training_step(model, batch)


if __name__ == "__main__":
    out, stop = Path(sys.argv[1]), sys.argv[2] == "stop"
    cfg = TrainerConfig(max_steps=16, batch_size=4, lr=3e-2, eval_every=4, ckpt_every=8, best_metric="mse",
                        eval_batch_size=4, progress_bar=False)
    trainer = Trainer(cfg, SignalsAgent(stop), out / "run", seed=0)
    final = trainer.fit()
    rank = trainer.accelerator.process_index
    torch.save(trainer.model.state_dict(), out / f"weights_rank{rank}.pt")
    (out / f"final_rank{rank}.json").write_text(json.dumps(final))
