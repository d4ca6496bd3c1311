"""The shared runtime's guarantees for transformers/TRL trainers: non-finite stop, atomic checkpoints, signals.

Use `ReliableTrainerMixin` before any `transformers.Trainer` subclass (TRL's SFTTrainer/GRPOTrainer too):

    class MyTrainer(ReliableTrainerMixin, SFTTrainer): ...

- A non-finite loss (any rank, any micro-batch) or gradient norm raises `NonFiniteError` before the optimiser
  step, on every rank at the same step, so nothing non-finite is ever written.
- `checkpoint-N` is written under `<output_dir>/.incomplete/` and renamed into place only when every rank has
  finished writing it; a kill during the write leaves the previous checkpoint as the newest one.
- SIGTERM / SIGINT / SIGUSR1 (`common.training.signals.StopSignals`) save `checkpoint-N` at the next
  optimiser-step boundary (all ranks agree), then `train()` hands the signal to a launcher's handler
  (submitit requeue) or raises `TrainingStopped` (exit code 75); `trainer.stopped_by_signal` names it.
- `trainer.ckpt_every_minutes` (rank 0's clock, agreed by all ranks) also triggers a checkpoint.
HF's own hooks cannot do these (its NaN filter replaces a non-finite loss by the running mean and it writes
checkpoints in place), hence this small override.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

from common.training.signals import StopSignals, any_rank

log = logging.getLogger(__name__)
STAGING = ".incomplete"


class NonFiniteError(FloatingPointError):
    """Raised when a training loss or gradient norm is NaN or infinite."""


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


class ReliableTrainerMixin:
    """Mixin for `transformers.Trainer` subclasses: non-finite stop, atomic checkpoints, checkpoint on signal."""

    stopped_by_signal: str | None = None

    def __init__(self, *args: Any, ckpt_every_minutes: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bad_loss: float | None = None
        self._staging = False
        self._stop: StopSignals | None = None
        self.add_callback(_SignalCheckpointCallback(self, ckpt_every_minutes))
        dataset = getattr(self, "train_dataset", None)
        if hasattr(dataset, "set_epoch"):
            self.add_callback(DatasetEpochCallback(dataset))

    def train(self, *args: Any, **kwargs: Any) -> Any:
        """HF `train`; a stop signal becomes a checkpoint at the next step boundary, then `TrainingStopped`."""
        self.stopped_by_signal = None
        with StopSignals() as stop:
            self._stop = stop
            try:
                result = super().train(*args, **kwargs)
            finally:
                self._stop = None
            if self.stopped_by_signal is not None:
                stop.finish()
        return result

    def training_step(self, model: torch.nn.Module, inputs: dict, num_items_in_batch: Any = None) -> torch.Tensor:
        """The usual step; a non-finite loss is remembered and raised at the step's gradient-norm check."""
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self._bad_loss is None and not bool(torch.isfinite(loss.detach()).all()):
            self._bad_loss = float(loss.detach().float().mean())
        return loss

    def _get_grad_norm(self, model: torch.nn.Module, grad_norm: Any = None) -> Any:
        """HF's gradient norm (all-reduced, so equal on every rank), then stop on any non-finite value."""
        grad_norm = super()._get_grad_norm(model, grad_norm=grad_norm)
        norm = float(grad_norm.item() if hasattr(grad_norm, "item") else grad_norm)
        bad_loss = bool(any_rank([float(self._bad_loss is not None)], self.args.device)[0])
        if bad_loss or not math.isfinite(norm):
            step = self.state.global_step + 1
            what = (f"loss {self._bad_loss}" if self._bad_loss is not None else
                    "loss on another rank" if bad_loss else f"gradient norm {norm}")
            raise NonFiniteError(f"non-finite {what} at optimiser step {step} (lr {self._get_learning_rate():.3g}); "
                                 "nothing was saved for this step. Lower trainer.lr, keep trainer.grad_clip, or "
                                 "check the data; resume from the last checkpoint-N with trainer.resume=auto")
        return grad_norm

    def _get_output_dir(self, trial: Any) -> str:
        """While a checkpoint is being written, the staging folder instead of the output folder."""
        out = super()._get_output_dir(trial)
        return os.path.join(out, STAGING) if self._staging else out

    def _save_checkpoint(self, model: torch.nn.Module, trial: Any) -> None:
        """Write checkpoint-N under `.incomplete/`, wait for every rank, rename into place, rotate old ones."""
        run_dir = self._get_output_dir(trial)
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        self._staging = True
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging = False
        _barrier()
        if self.args.should_save:
            publish(Path(run_dir) / STAGING / name, Path(run_dir) / name)
            with contextlib.suppress(OSError):
                (Path(run_dir) / STAGING).rmdir()                      # only when nothing else is staged
            rotate_checkpoints(output_dir=run_dir, save_total_limit=self.args.save_total_limit,
                               best_model_checkpoint=self.state.best_model_checkpoint)
        _barrier()


def publish(staged: Path, final: Path) -> None:
    """Atomically move a fully written folder to `final` (replacing an older folder of that name)."""
    old = final.with_name(f"{STAGING}-old-{final.name}")
    if final.exists():
        os.replace(final, old)
    os.replace(staged, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    shutil.rmtree(old, ignore_errors=True)


class _SignalCheckpointCallback(TrainerCallback):
    """At each optimiser-step end: a stop signal on any rank, or `ckpt_every_minutes` elapsed on rank 0, saves
    a checkpoint (all ranks agree through one all-reduce); a signal also stops training."""

    def __init__(self, trainer: ReliableTrainerMixin, ckpt_every_minutes: float) -> None:
        self.trainer, self.every_s = trainer, 60.0 * ckpt_every_minutes
        self.last = time.monotonic()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.last = time.monotonic()
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        stop = self.trainer._stop
        due = self.every_s > 0 and state.is_world_process_zero and time.monotonic() - self.last >= self.every_s
        signalled, timed = any_rank([float(stop is not None and stop.requested), float(due)], args.device)
        if signalled:
            name = signal.Signals(stop.signum).name if stop is not None and stop.signum else "a signal on another rank"
            log.warning("%s: saving checkpoint-%d and stopping; rerun with trainer.resume=auto to continue", name,
                        state.global_step)
            self.trainer.stopped_by_signal = name
            control.should_training_stop = True
        if signalled or timed:
            control.should_save = True
            self.last = time.monotonic()
        return control


class DatasetEpochCallback(TrainerCallback):
    """Tells a dataset with `set_epoch(epoch)` the epoch about to start (per-sample RNG from (epoch, index))."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.dataset.set_epoch(math.floor(state.epoch + 1e-9))
        return control
