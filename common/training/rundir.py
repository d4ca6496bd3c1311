"""Run-dir integrity: one id per launch shared by all ranks, a lock per run dir, configs kept per launch.

- `launch_id()`: made on rank 0 and shared through torchrun's agent store (also under a static rendezvous,
  where TORCHELASTIC_RUN_ID is `none`, and across nodes); `EHP_LAUNCH_ID` set by the user wins (an sbatch
  script can export `EHP_LAUNCH_ID=$SLURM_JOB_ID` so a requeued job finds its run dir again).
- `RunLock`: an flock on `<run_dir>/.lock` (released by the kernel when the process dies, also on
  SIGKILL; flock works across nodes on NFSv4 / Lustre); a second live run on the dir is refused.
- `record_config`: `config.yaml` for the first launch, `config.resume-<n>.yaml` after; a run that
  resumes with changed model / optimiser / data keys is refused unless `trainer.allow_config_change`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OPERATIONAL_KEYS = ("run_dir", "ckpt", "paths", "logger", "hydra", "experiment_name", "optimized_metric",
                    "optimized_direction", "trainer.resume", "trainer.progress_bar", "trainer.log_every",
                    "trainer.eval_every", "trainer.ckpt_every", "trainer.ckpt_every_minutes", "trainer.keep_last",
                    "trainer.num_workers", "trainer.eval_batch_size", "trainer.allow_config_change",
                    "trainer.collective_timeout_minutes", "trainer.best_metric", "trainer.best_mode")
"""Keys that may change between launches of one run (where and how it runs, not what it trains)."""

_LAUNCH_ID: str | None = None
_HELD: dict[Path, RunLock] = {}


class RunDirError(RuntimeError):
    """A run dir is in use by another live run, or holds a run of a different configuration."""


def launch_id() -> str:
    """Identifier of this launch, equal on every rank and node (`HH-MM-SS-<6 hex>` made on rank 0)."""
    global _LAUNCH_ID
    if _LAUNCH_ID is None:
        _LAUNCH_ID = os.environ.get("EHP_LAUNCH_ID") or _shared_from_rank0(
            time.strftime("%H-%M-%S") + "-" + secrets.token_hex(3))
    return _LAUNCH_ID


def _shared_from_rank0(candidate: str) -> str:
    """Rank 0's `candidate`, read by every rank from torchrun's agent store (the rendezvous store)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return candidate
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true":
        from torch.distributed import TCPStore

        store = TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                         timeout=timedelta(minutes=10))
        # first writer wins, so a restarted rank 0 (torchrun --max-restarts) keeps the launch's id
        value = store.compare_set("ehp/launch_id", "", candidate) if os.environ.get("RANK") == "0" \
            else store.get("ehp/launch_id")
        return value.decode()
    if "SLURM_JOB_ID" in os.environ:  # srun starting every rank itself: the job step is the launch
        return f"slurm-{os.environ['SLURM_JOB_ID']}-{os.environ.get('SLURM_STEP_ID', '0')}"
    raise RunDirError("WORLD_SIZE > 1 without torchrun's agent store or SLURM: the ranks cannot agree on a run "
                      "dir. Launch with torchrun / accelerate launch, or export EHP_LAUNCH_ID=<same id> on all "
                      "ranks (or set hydra.run.dir explicitly)")


class RunLock:
    """Exclusive lock of a run dir for the lifetime of this process (or until `release`)."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / ".lock"
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock or raise RunDirError naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise RunDirError(f"run dir {self.path.parent} is in use by another live run ({holder}); wait for it, "
                              "or pick another dir (hydra.run.dir=...)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"host={socket.gethostname()} pid={os.getpid()} launch={launch_id()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (the file stays; an unlocked file means no live run)."""
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def hold_lock(run_dir: str | Path) -> RunLock | None:
    """Lock `run_dir` for this process unless this process already holds it; returns the new lock or None."""
    key = Path(run_dir).resolve()
    if key in _HELD:
        return None
    lock = RunLock(key).acquire()
    _HELD[key] = lock
    return lock


def drop_lock(lock: RunLock | None) -> None:
    """Release a lock returned by `hold_lock` (None is ignored)."""
    if lock is None:
        return
    _HELD.pop(lock.path.parent, None)
    lock.release()


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a.b": value}` view of nested mappings (lists are leaves)."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def _operational(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in OPERATIONAL_KEYS)


def config_diff(old: Mapping, new: Mapping) -> list[str]:
    """Lines `key: old -> new` for every non-operational key that differs."""
    a, b = flatten(old), flatten(new)
    absent = "<absent>"
    keys = sorted(k for k in a.keys() | b.keys() if not _operational(k) and a.get(k, absent) != b.get(k, absent))
    return [f"  {k}: {a.get(k, absent)!r} -> {b.get(k, absent)!r}" for k in keys]


def has_checkpoints(run_dir: Path) -> bool:
    """Whether the run dir holds a resumable checkpoint (shared runtime or HF trainer)."""
    return any(run_dir.glob("**/checkpoints/step_*/trainer_state.pt")) or \
        any(run_dir.glob("**/checkpoint-*/trainer_state.json"))


def record_config(run_dir: Path, config: Mapping, allow_change: bool) -> Path:
    """Keep this launch's resolved config; refuse to resume checkpoints made under a different config."""
    from omegaconf import OmegaConf

    first = run_dir / "config.yaml"
    text = OmegaConf.to_yaml(OmegaConf.create(dict(config)))
    if not first.exists():
        first.write_text(text)
        return first
    previous = OmegaConf.to_container(OmegaConf.load(first)) or {}
    diff = config_diff(previous, config)
    if diff and has_checkpoints(run_dir):
        message = (f"run dir {run_dir} holds checkpoints of a run with a different configuration:\n"
                   + "\n".join(diff))
        if not allow_change:
            raise RunDirError(message + "\nResume with the same settings, start a new run dir, or pass "
                              "trainer.allow_config_change=true to resume anyway")
        log.warning("%s\ncontinuing because trainer.allow_config_change=true", message)
    n = 1
    while (run_dir / f"config.resume-{n}.yaml").exists():
        n += 1
    path = run_dir / f"config.resume-{n}.yaml"
    path.write_text(text)
    return path
