"""Worker for test_torchrun_forwards_sigusr1_and_the_rerun_resumes: rank 0 sends SIGUSR1 to its torchrun agent
during step 5 (`stop` argument); the agent forwards it to both workers, which checkpoint and exit 75."""

import os
import signal
import sys
from pathlib import Path

from common.training import Trainer, TrainerConfig
from tests.common.toy_task import ToyTask


class SignalsAgent(ToyTask):
    """With `stop`, rank 0 signals the torchrun agent (its parent process) at micro-batch 9."""

    def __init__(self, stop: bool):
        super().__init__()
        self.stop = stop

    def training_step(self, model, batch):
        if self.stop and self.calls == 8 and os.environ.get("RANK") == "0":
            os.kill(os.getppid(), signal.SIGUSR1)
        return super().training_step(model, batch)


if __name__ == "__main__":
    out, stop = Path(sys.argv[1]), sys.argv[2] == "stop"
    cfg = TrainerConfig(max_steps=12, batch_size=4, lr=3e-2, eval_every=0, ckpt_every=0, progress_bar=False)
    Trainer(cfg, SignalsAgent(stop), out / "run", seed=0).fit()
