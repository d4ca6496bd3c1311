"""Fault injection on PoseLLM's HF-trainer path: SIGTERM then resume (bit-exact), SIGKILL while writing a
checkpoint then resume (falls back, bit-exact), NaN loss stops the run, exact resume from a checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from transformers import TrainerCallback

from common.training.hf_reliability import STAGING, NonFiniteError
from common.training.signals import TrainingStopped
from posellm.config import PoseLLMDataConfig, PoseLLMModelConfig, TinyLLMConfig, TinyVisionConfig
from posellm.data import KeypointTrainSet, coco_paths, load_coco_instances
from posellm.model import build_posellm
from posellm.training import fit

REPO = Path(__file__).resolve().parents[2]
STEPS = 6


def _setup(root: Path, lr: float = 3e-3, steps: int = STEPS):
    model_cfg = PoseLLMModelConfig(tiny_vision=TinyVisionConfig(hidden_size=16, num_hidden_layers=1,
                                                                intermediate_size=32, patch_size=8),
                                   tiny_llm=TinyLLMConfig(hidden_size=32, num_hidden_layers=1, intermediate_size=64),
                                   freeze_base=False)
    data_cfg = PoseLLMDataConfig(root=str(root), image_size=32, scale_factor=0.3, rotation_factor=40.0, flip=True)
    trainer = OmegaConf.create({"max_steps": steps, "batch_size": 4, "lr": lr, "ckpt_every": 2, "keep_last": 5,
                                "log_every": 1, "progress_bar": False, "resume": "auto", "warmup_ratio": 0.0})
    train, _ = load_coco_instances(*coco_paths(root, "train2017"))
    return model_cfg, data_cfg, trainer, train


def _train(root: Path, run_dir: Path, callbacks: tuple = (), **kw: float):
    model_cfg, data_cfg, trainer, train = _setup(root, **kw)
    built = build_posellm(model_cfg, data_cfg.image_size, seed=0)
    train_set = KeypointTrainSet(train, built.codec, data_cfg, model_cfg.image_mean, model_cfg.image_std, seed=0)
    from posellm import training

    original = training.ConnectorLRTrainer.__init__

    def with_callbacks(self, *args, **kwargs):
        original(self, *args, **kwargs)
        for cb in callbacks:
            self.add_callback(cb)

    training.ConnectorLRTrainer.__init__ = with_callbacks
    try:
        logs, _ = fit(built, train_set, trainer, data_cfg, run_dir, seed=0)
    finally:
        training.ConnectorLRTrainer.__init__ = original
    return {k: v.detach().clone() for k, v in built.model.state_dict().items()}, logs


class SigtermAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[str]:
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.fixture(scope="module")
def uninterrupted(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    weights, logs = _train(synthetic_root, tmp_path_factory.mktemp("full"))
    assert logs["train_steps"] == STEPS
    return weights


def test_sigterm_checkpoints_then_resume_is_bit_exact(synthetic_root: Path, tmp_path: Path, uninterrupted) -> None:
    with pytest.raises(TrainingStopped):
        _train(synthetic_root, tmp_path, callbacks=(SigtermAt(2),))
    assert (tmp_path / "hf" / "checkpoint-3").is_dir()
    resumed, logs = _train(synthetic_root, tmp_path)
    assert logs["train_steps"] == STEPS
    assert _same(uninterrupted, resumed) == []


def test_sigkill_while_writing_a_checkpoint_falls_back(synthetic_root: Path, tmp_path: Path, uninterrupted,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(REPO)!r})
import torch
torch.set_num_threads(1)
from pathlib import Path
from transformers import Trainer
from tests.posellm.test_faults import _train
original = Trainer._save_optimizer_and_scheduler
def killed(self, output_dir):
    if self.state.global_step == 4:
        Path(output_dir, "optimizer.pt").write_bytes(b"")   # half-written, then the node dies
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, output_dir)
Trainer._save_optimizer_and_scheduler = killed
_train(Path({str(synthetic_root)!r}), Path({str(tmp_path)!r}))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (tmp_path / "hf" / STAGING / "checkpoint-4").is_dir() and not (tmp_path / "hf" / "checkpoint-4").exists()
    with caplog.at_level("WARNING"):
        resumed, logs = _train(synthetic_root, tmp_path)
    assert "checkpoint-4" in caplog.text and logs["train_steps"] == STEPS
    assert _same(uninterrupted, resumed) == []


def test_nan_loss_stops_the_run(synthetic_root: Path, tmp_path: Path) -> None:
    with pytest.raises(NonFiniteError, match="non-finite"):
        _train(synthetic_root, tmp_path, lr=1e10)
    assert not list((tmp_path / "hf").glob("checkpoint-*"))
