"""Fault injection for the shared runtime: signals, kills during checkpoint writes, corrupt and crafted files,
NaN, changed configs, locked run dirs. Every resume is compared bit for bit with an uninterrupted run."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from common.training import Trainer, TrainerConfig
from common.training.config import per_device_batch
from common.training.rundir import RunDirError, RunLock
from common.training.signals import EXIT_CHECKPOINTED, TrainingStopped
from tests.common.toy_task import ToyTask, weights
from tests.common.toy_task import small_cfg as toy_small_cfg

REPO = Path(__file__).resolve().parents[2]


def small_cfg(**kw) -> TrainerConfig:
    return toy_small_cfg(**{"keep_last": 3, **kw})


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(weights(a), weights(b), strict=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run (seed 1): final metrics, model and metrics.json history."""
    run_dir = tmp_path_factory.mktemp("ref")
    trainer = Trainer(small_cfg(), ToyTask(), run_dir, seed=1)
    metrics = trainer.fit()
    return metrics, trainer.model, json.loads((run_dir / "metrics.json").read_text())["history"]


def resume_matches(run_dir: Path, reference, **cfg) -> Trainer:
    metrics, model, history = reference
    resumed = Trainer(small_cfg(**cfg), ToyTask(), run_dir, seed=1)
    assert resumed.fit() == metrics
    assert same(resumed.model, model)
    assert json.loads((run_dir / "metrics.json").read_text())["history"] == history
    return resumed


def interrupted(run_dir: Path) -> Path:
    """A run killed (KeyboardInterrupt) inside step 22: checkpoints at 8 and 16 exist."""
    with pytest.raises(KeyboardInterrupt):
        Trainer(small_cfg(), ToyTask(fail_at_step=43), run_dir, seed=1).fit()
    return run_dir / "checkpoints"


def test_sigterm_checkpoints_at_step_boundary_then_resumes_bit_exact(tmp_path, reference):
    # micro-batch 27 is the first half of step 14 (2 micro-batches per step); no periodic checkpoint
    with pytest.raises(TrainingStopped) as stopped:
        Trainer(small_cfg(ckpt_every=0), ToyTask(signal_at=27), tmp_path, seed=1).fit()
    assert stopped.value.code == EXIT_CHECKPOINTED
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == ["step_00000014"]
    assert not (tmp_path / ".lock").exists() or RunLock(tmp_path).acquire().release() is None  # lock released
    resume_matches(tmp_path, reference, ckpt_every=0)


def test_time_based_checkpoints_without_ckpt_every(tmp_path):
    Trainer(small_cfg(max_steps=6, ckpt_every=0, eval_every=0, ckpt_every_minutes=1e-9, keep_last=10),
            ToyTask(), tmp_path).fit()
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == [
        f"step_{s:08d}" for s in range(1, 7)]


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import common.training.trainer as trainer_module
    from common.training import Trainer, TrainerConfig
    from tests.common.toy_task import ToyTask

    real_save = trainer_module.atomic_save
    def dying_save(obj, path):
        if "step_00000016" in str(path):  # the model/optimizer files are written, trainer_state.pt half-written
            with open(path, "wb") as fh:
                fh.write(b"PK\\x03\\x04 truncated")
            os.kill(os.getpid(), signal.SIGKILL)
        return real_save(obj, path)
    trainer_module.atomic_save = dying_save
    cfg = TrainerConfig(max_steps=24, batch_size=4, grad_accum=2, lr=3e-2, warmup_ratio=0.1, eval_every=8,
                        ckpt_every=8, keep_last=3, best_metric="mse", progress_bar=False, log_every=4)
    Trainer(cfg, ToyTask(), sys.argv[1], seed=1).fit()
""")


def test_sigkill_during_checkpoint_write_falls_back_bit_exact(tmp_path, reference, caplog):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=240, cwd=REPO)
    assert out.returncode == -9, out.stderr[-2000:]
    ckpts = tmp_path / "checkpoints"
    assert (ckpts / ".step_00000016.tmp").is_dir() and not (ckpts / "step_00000016").exists()
    with caplog.at_level(logging.WARNING):
        resume_matches(tmp_path, reference)
    assert "skipping incomplete checkpoint" in caplog.text and ".step_00000016.tmp" in caplog.text


@pytest.mark.parametrize("victim", ["model.safetensors", "optimizer.bin", "random_states_0.pkl",
                                    "trainer_state.pt"])
def test_truncated_checkpoint_file_falls_back_to_previous(tmp_path, reference, caplog, victim):
    ckpts = interrupted(tmp_path)
    path = ckpts / "step_00000016" / victim
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with caplog.at_level(logging.WARNING):
        resume_matches(tmp_path, reference)
    assert "step_00000016 is unreadable" in caplog.text


class _Payload:
    """Pickles to a call of os.system: loading it with weights_only=False would run a command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("victim", ["trainer_state.pt", "random_states_0.pkl"])
def test_crafted_pickle_is_refused(tmp_path, victim, caplog):
    ckpts = interrupted(tmp_path / "run")
    marker = tmp_path / "pwned"
    target = ckpts / "step_00000016" / victim
    with open(target, "wb") as fh:
        pickle.dump({"state": _Payload(marker)}, fh)
    explicit = small_cfg(resume=str(ckpts / "step_00000016"))
    with pytest.raises(RuntimeError, match=r"step_00000016.*Weights only load failed"):
        Trainer(explicit, ToyTask(), tmp_path / "run", seed=1).fit()
    with caplog.at_level(logging.WARNING):
        Trainer(small_cfg(), ToyTask(), tmp_path / "run", seed=1).fit()  # auto: falls back to step 8
    assert "step_00000016 is unreadable" in caplog.text
    assert not marker.exists()


def test_nan_loss_stops_the_run_and_closes_its_log_file(tmp_path):
    with pytest.raises(FloatingPointError, match=r"non-finite loss nan at step 2; lower trainer\.lr"):
        Trainer(small_cfg(), ToyTask(nan_at=5), tmp_path).fit()
    assert not (tmp_path / "checkpoints" / "final").exists()
    assert not [h for h in logging.getLogger().handlers if str(tmp_path) in str(getattr(h, "baseFilename", ""))]


def test_one_log_file_per_run_without_library_noise(tmp_path):
    Trainer(small_cfg(max_steps=4, ckpt_every=1, eval_every=2), ToyTask(), tmp_path).fit()
    assert sorted(p.name for p in tmp_path.glob("*.log")) == ["train.log"]
    text = (tmp_path / "train.log").read_text()
    assert "step 4 eval: mse=" in text
    assert "accelerate" not in text  # no "Saving current state to ..." line per checkpoint


def test_nan_evaluation_never_becomes_best_and_metrics_json_is_strict(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        Trainer(small_cfg(max_steps=8, eval_every=4), ToyTask(nan_eval=True), tmp_path).fit()
    assert not (tmp_path / "checkpoints" / "best").exists()
    assert "mse=nan is not finite; not considered for best/" in caplog.text

    def refuse(constant):
        raise ValueError(f"non-strict JSON constant {constant}")

    summary = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=refuse)
    assert summary["history"] == [{"step": 4, "mse": None}, {"step": 8, "mse": None}]


def test_crash_during_evaluation_keeps_the_checkpoint_of_that_step(tmp_path, reference):
    # evaluation call 2 is the one at step 16: its checkpoint is already written, and resume re-evaluates
    with pytest.raises(MemoryError):
        Trainer(small_cfg(), ToyTask(fail_eval_call=2), tmp_path, seed=1).fit()
    assert (tmp_path / "checkpoints" / "step_00000016").is_dir()
    resume_matches(tmp_path, reference)


def test_resume_with_changed_config_is_refused_with_the_diff(tmp_path, reference):
    interrupted(tmp_path)
    with pytest.raises(RunDirError, match=r"trainer\.lr: 0\.03 -> 0\.01"):
        Trainer(small_cfg(lr=1e-2), ToyTask(), tmp_path, seed=1).fit()
    Trainer(small_cfg(lr=1e-2, allow_config_change=True), ToyTask(), tmp_path, seed=1).fit()
    resume_matches(tmp_path, reference, resume=str(tmp_path / "checkpoints" / "step_00000016"), eval_every=8)


def test_second_live_run_on_a_locked_dir_is_refused(tmp_path):
    holder = RunLock(tmp_path).acquire()
    try:
        with pytest.raises(RunDirError, match=r"in use by another live run \(host=.* pid=\d+"):
            Trainer(small_cfg(max_steps=2), ToyTask(), tmp_path)
    finally:
        holder.release()
    Trainer(small_cfg(max_steps=2, eval_every=0), ToyTask(), tmp_path).fit()


def test_global_batch_size_fixes_the_schedule_across_gpu_counts():
    cfg = small_cfg(global_batch_size=32, grad_accum=2)
    assert [per_device_batch(cfg, world) for world in (1, 2, 4, 8, 16)] == [16, 8, 4, 2, 1]
    with pytest.raises(ValueError, match=r"trainer.global_batch_size=32 is not divisible by 3 processes"):
        per_device_batch(cfg, 3)


def test_wandb_is_offline_without_mode_or_key_and_records_the_full_config(tmp_path, monkeypatch):
    import wandb

    from common.training.trainer import set_run_config

    calls, real_init = [], wandb.init
    monkeypatch.setattr(wandb, "init", lambda **kw: calls.append(kw) or real_init(**kw))
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    set_run_config({"paper": "toy", "model": {"width": 16}, "seed": 0})
    try:
        Trainer(small_cfg(max_steps=2, eval_every=0), ToyTask(), tmp_path,
                logger_cfg={"name": "wandb", "project": "t"}).fit()
    finally:
        set_run_config(None)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    assert calls[0]["mode"] == "offline"
    assert calls[0]["config"] == {"paper": "toy", "model": {"width": 16}, "seed": 0}
