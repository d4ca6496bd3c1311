"""Checkpoint on signal: SIGTERM/SIGINT/SIGUSR1/SIGUSR2 set a flag; the loop saves at a step boundary.

Handlers only set a flag (nothing heavy runs inside a signal handler). The loop asks `stop.agreed()` at
each step boundary on every rank (one all-reduce, so all ranks stop at the same step), saves a
checkpoint, then calls `stop.finish()`: if a handler was installed before ours (submitit's requeue
handler, for instance) the signal is handed to it, otherwise `TrainingStopped` exits with
`EXIT_CHECKPOINTED` (75, sysexits' EX_TEMPFAIL: "temporary failure, run again to continue"). A second
SIGINT stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

import torch

log = logging.getLogger(__name__)

EXIT_CHECKPOINTED = 75
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
"""SIGUSR2 is what SLURM sends before a time limit under submitit (`signal_delay_s`); its requeue handler
runs after our checkpoint."""


class TrainingStopped(SystemExit):
    """Raised after the checkpoint of a signalled run; exit code `EXIT_CHECKPOINTED`."""

    def __init__(self, signum: int):
        super().__init__(EXIT_CHECKPOINTED)
        self.signum = signum

    def __str__(self) -> str:
        return (f"stopped by {signal.Signals(self.signum).name} after saving a checkpoint; "
                f"run the same command again (trainer.resume=auto) to continue")


class StopSignals:
    """Context manager installing flag-setting handlers for `signals` (main thread only; restored on exit)."""

    def __init__(self, signals: tuple[int, ...] = STOP_SIGNALS):
        self.signals = signals
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt("second SIGINT: stopping at once, without a checkpoint")
        if self.signum is None:
            log.warning("received %s: saving a checkpoint at the next step boundary, then stopping",
                        signal.Signals(signum).name)
        self.signum = signum

    @property
    def requested(self) -> bool:
        """Whether this process received one of the signals."""
        return self.signum is not None

    def agreed(self, device: torch.device | str = "cpu") -> bool:
        """Whether any rank received a signal (collective: call it on every rank at the same point)."""
        return bool(any_rank([float(self.requested)], device)[0])

    def finish(self) -> None:
        """After the checkpoint: hand the signal to the previously installed handler, or stop with 75."""
        signum = self.signum if self.signum is not None else signal.SIGTERM
        previous = self._previous.get(signum)
        self._restore()
        if callable(previous) and previous not in (signal.default_int_handler,):
            log.warning("checkpoint saved; passing %s on to the launcher's handler", signal.Signals(signum).name)
            previous(signum, None)
        raise TrainingStopped(signum)


def any_rank(values: list[float], device: torch.device | str = "cpu") -> list[float]:
    """Element-wise max of `values` over all ranks (identity when torch.distributed is not initialised)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(values)
    if dist.get_backend() == "nccl" and torch.device(device).type != "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()
