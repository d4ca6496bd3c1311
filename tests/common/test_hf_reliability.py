"""HF-trainer guarantees (common/training/hf*.py) on a tiny regression model: NaN stop, atomic checkpoints, signals."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import Dataset
from transformers import Trainer, TrainerCallback, TrainingArguments

from common.training import TrainerConfig
from common.training.hf import hf_init_wandb, hf_resume_checkpoint, hf_training_kwargs
from common.training.hf_dist import evaluate_sharded, gather_shards, shard
from common.training.hf_reliability import STAGING, NonFiniteError, ReliableTrainerMixin
from common.training.signals import EXIT_CHECKPOINTED, TrainingStopped


class Noisy(Dataset):
    """y = 2x + noise; the noise is drawn per (seed, epoch, index), so resume can replay it exactly."""

    def __init__(self, n: int = 32) -> None:
        self.x = torch.linspace(-1, 1, n)[:, None]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((0, self.epoch, i))
        return {"x": self.x[i], "y": 2 * self.x[i] + float(rng.normal(0, 0.1))}


class Reg(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 8)
        self.out = nn.Linear(8, 1)
        self.drop = nn.Dropout(0.2)          # global-RNG consumer: resume must restore it too

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        pred = self.out(self.drop(torch.tanh(self.lin(x))))
        return {"loss": ((pred - y) ** 2).mean()}


class ReliableTrainer(ReliableTrainerMixin, Trainer):
    pass


class SignalAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _trainer(out: Path, steps: int = 12, lr: float = 1e-2, ckpt_every: int = 4, callbacks=(),
             ckpt_every_minutes: float = 0.0) -> ReliableTrainer:
    tc = TrainerConfig(max_steps=steps, batch_size=4, lr=lr, ckpt_every=ckpt_every, keep_last=3, log_every=1,
                       progress_bar=False)
    args = TrainingArguments(**hf_training_kwargs(tc, out, seed=0))
    torch.manual_seed(0)
    return ReliableTrainer(model=Reg(), args=args, train_dataset=Noisy(), callbacks=list(callbacks),
                           ckpt_every_minutes=ckpt_every_minutes)


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_non_finite_loss_stops_before_saving(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path, lr=1e10, ckpt_every=1)
    with pytest.raises(NonFiniteError, match=r"non-finite .* at optimiser step \d+ .*trainer.lr"):
        trainer.train()
    published = sorted(tmp_path.glob("checkpoint-*"))
    assert len(published) < 12          # stopped early
    for ckpt in published:              # nothing non-finite was ever written
        weights = load_file(ckpt / "model.safetensors")
        assert all(torch.isfinite(v).all() for v in weights.values()), ckpt


def test_sigterm_checkpoints_then_resume_is_bit_exact(tmp_path: Path) -> None:
    full = _trainer(tmp_path / "full")
    full.train()
    cut = _trainer(tmp_path / "cut", callbacks=[SignalAt(6)])
    with pytest.raises(TrainingStopped) as stopped:
        cut.train()
    assert stopped.value.code == EXIT_CHECKPOINTED
    assert cut.stopped_by_signal == "SIGTERM" and cut.state.global_step == 7
    assert (tmp_path / "cut" / "checkpoint-7").is_dir() and not (tmp_path / "cut" / STAGING / "checkpoint-7").exists()
    resumed = _trainer(tmp_path / "cut")
    resumed.train(resume_from_checkpoint=hf_resume_checkpoint("auto", tmp_path / "cut"))
    assert resumed.state.global_step == 12
    a, b = _weights(full), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_time_based_checkpoints(tmp_path: Path) -> None:
    _trainer(tmp_path, steps=3, ckpt_every=0, ckpt_every_minutes=1e-9).train()
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]


def test_resume_skips_incomplete_checkpoints(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _trainer(tmp_path, steps=8).train()
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-8"]
    # A kill while writing checkpoint-12 leaves it staged; an older non-atomic writer leaves a folder without state.
    (tmp_path / STAGING / "checkpoint-12").mkdir(parents=True)
    (tmp_path / STAGING / "checkpoint-12" / "optimizer.pt").write_bytes(b"")
    os.remove(tmp_path / "checkpoint-8" / "trainer_state.json")
    with caplog.at_level(logging.WARNING):
        chosen = hf_resume_checkpoint("auto", tmp_path)
    assert chosen == str(tmp_path / "checkpoint-4")
    assert "checkpoint-12" in caplog.text and "checkpoint-8" in caplog.text
    with pytest.raises(FileNotFoundError, match=r"trainer_state\.json"):
        hf_resume_checkpoint(str(tmp_path / "checkpoint-8"), tmp_path)


def test_sharded_evaluation_helpers_single_process() -> None:
    items = list(range(7))
    assert shard(items) == items and gather_shards(items) == items
    assert evaluate_sharded(items, lambda xs: [x * x for x in xs], lambda p: {"sum": float(sum(p))}) == {"sum": 91.0}


def test_wandb_offline_without_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("HOME", str(tmp_path))            # no ~/.netrc credentials either
    run = hf_init_wandb({"name": "wandb", "project": "p", "mode": None}, tmp_path / "run",
                        full_config={"trainer": {"lr": 0.5}})
    tc = TrainerConfig(max_steps=2, batch_size=4, progress_bar=False)
    args = TrainingArguments(**hf_training_kwargs(tc, tmp_path / "run", seed=0, logger_name="wandb"))
    ReliableTrainer(model=Reg(), args=args, train_dataset=Noisy()).train()
    assert run.settings.mode == "offline" and run.config["trainer"]["lr"] == 0.5
    run.finish()
    assert list((tmp_path / "run" / "wandb").glob("offline-run-*"))
