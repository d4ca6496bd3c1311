"""Shared runtime: determinism, exact resume, schedule, atomic checkpoints, config validation, DDP."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf.errors import ConfigKeyError

from common.training import Trainer, TrainerConfig, atomic_save, load_model_weights, trainer_config_from
from common.training.evaluation import evaluate_checkpoint
from common.training.trainer import lr_lambda
from tests.common.toy_task import ShardedToyTask, ToyTask, small_cfg, weights

REPO = Path(__file__).resolve().parents[2]


def test_same_seed_same_metrics_and_weights(tmp_path):
    a = Trainer(small_cfg(), ToyTask(), tmp_path / "a", seed=3)
    b = Trainer(small_cfg(), ToyTask(), tmp_path / "b", seed=3)
    ma, mb = a.fit(), b.fit()
    assert ma == mb
    assert all(torch.equal(x, y) for x, y in zip(weights(a.model), weights(b.model), strict=True))
    c = Trainer(small_cfg(), ToyTask(), tmp_path / "c", seed=4)
    assert c.fit() != ma
    summary = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert [h["step"] for h in summary["history"]] == [8, 16, 24]
    assert (tmp_path / "a" / "config.yaml").exists() and (tmp_path / "a" / "train.log").exists()


def test_training_beats_initial_model(tmp_path):
    trainer = Trainer(small_cfg(max_steps=60, eval_every=0, ckpt_every=0), ToyTask(), tmp_path, seed=0)
    final = trainer.fit()["mse"]
    untrained = Trainer(small_cfg(max_steps=1, lr=1e-9), ToyTask(), tmp_path / "u", seed=0).fit()["mse"]
    assert final < 0.5 * untrained


def test_interrupted_run_resumes_to_identical_result(tmp_path):
    reference = Trainer(small_cfg(), ToyTask(), tmp_path / "ref", seed=1)
    ref_metrics = reference.fit()
    run_dir = tmp_path / "interrupted"
    # micro-batch 43 is inside optimiser step 22, after the step-16 checkpoint (2 micro-batches per step)
    with pytest.raises(KeyboardInterrupt):
        Trainer(small_cfg(), ToyTask(fail_at_step=43), run_dir, seed=1).fit()
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == ["best", "step_00000008", "step_00000016"]
    resumed = Trainer(small_cfg(), ToyTask(), run_dir, seed=1)
    assert resumed.fit() == ref_metrics
    assert all(torch.equal(x, y) for x, y in zip(weights(resumed.model), weights(reference.model), strict=True))
    ref_hist = json.loads((tmp_path / "ref" / "metrics.json").read_text())["history"]
    assert json.loads((run_dir / "metrics.json").read_text())["history"] == ref_hist
    # keep_last=2 rotation, and best/final hold loadable weights
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "best", "final", "step_00000016", "step_00000024"]
    reloaded = load_model_weights(ToyTask().build_model(), run_dir / "checkpoints" / "final")
    assert all(torch.equal(x, y) for x, y in zip(weights(reloaded), weights(reference.model), strict=True))


def test_warmup_cosine_schedule_closed_form():
    cfg = TrainerConfig(max_steps=100, warmup_ratio=0.1, min_lr_ratio=0.1)
    f = lr_lambda(cfg)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    for step in (10, 40, 77, 100):
        expected = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 10) / 90))
        assert f(step) == pytest.approx(expected)


def test_atomic_save_keeps_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "state.pt"
    atomic_save({"a": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_save({"b": Unpicklable()}, path)
    assert torch.equal(torch.load(path)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"]


def test_trainer_config_validation():
    assert trainer_config_from({"lr": 0.5, "max_steps": 3}).lr == 0.5
    with pytest.raises(ConfigKeyError, match="lrr"):
        trainer_config_from({"lrr": 0.5})
    with pytest.raises(ValueError, match=r"trainer\.scheduler"):
        trainer_config_from({"scheduler": "linear"})
    with pytest.raises(Exception, match="max_steps"):
        trainer_config_from({"max_steps": "many"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(script: Path, *args: str) -> subprocess.CompletedProcess:
    """2 CPU processes under a static rendezvous, SIGUSR1 forwarded to the workers (as in the sbatch template)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           "--signals-to-handle", "SIGTERM,SIGINT,SIGUSR1", "--shutdown-timeout", "120", str(script), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_ddp_two_cpu_processes(tmp_path):
    """2 ranks: SIGUSR1 to the torchrun agent makes both workers checkpoint at one step and stop; the same
    command resumes; weights agree across ranks; the sharded evaluation (predict per rank, metrics on rank 0)
    equals a single-process evaluation of the final weights."""
    worker = REPO / "tests" / "common" / "ddp_worker.py"
    first = torchrun(worker, str(tmp_path), "stop")
    assert first.returncode != 0 and "received SIGUSR1: saving a checkpoint" in first.stderr, first.stderr[-3000:]
    steps = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*"))
    assert len(steps) == 1 and steps[0] < "step_00000008", steps
    assert (tmp_path / "run" / "checkpoints" / steps[0] / "random_states_1.pkl").exists()
    out = torchrun(worker, str(tmp_path), "resume")
    failed_rank = [line for line in out.stderr.splitlines() if line.startswith("[rank1]")]
    assert out.returncode == 0, "\n".join(failed_rank[-40:]) or out.stderr[-3000:]
    assert f"resumed from {tmp_path / 'run' / 'checkpoints' / steps[0]}" in (tmp_path / "run" / "train.log").read_text()
    w0, w1 = (torch.load(tmp_path / f"weights_rank{r}.pt") for r in (0, 1))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    summary = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [h["step"] for h in summary["history"]] == [4, 8, 12, 16]
    assert summary["final"]["mse"] < summary["history"][0]["mse"]
    assert (tmp_path / "run" / "checkpoints" / "step_00000016" / "random_states_1.pkl").exists()
    finals = [json.loads((tmp_path / f"final_rank{r}.json").read_text()) for r in (0, 1)]
    assert finals[0] == finals[1]
    single = evaluate_checkpoint(ShardedToyTask(), tmp_path / "run" / "checkpoints" / "final", batch_size=16)
    assert single["n"] == finals[0]["n"] == 21
    assert single["mse"] == pytest.approx(finals[0]["mse"], rel=1e-6)
    assert single["order"] == pytest.approx(finals[0]["order"], rel=1e-6)  # gathered in dataset order


def test_hf_mapping_follows_the_same_schedule(tmp_path):
    from transformers import TrainingArguments, get_scheduler

    from common.training.hf import hf_training_kwargs

    tc = TrainerConfig(max_steps=50, warmup_ratio=0.1, min_lr_ratio=0.1, lr=1e-3, batch_size=3, grad_accum=2)
    args = TrainingArguments(**hf_training_kwargs(tc, tmp_path, seed=5, logger_name="wandb"))
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps, args.seed) == (3, 2, 5)
    assert args.report_to == ["wandb"] and args.use_cpu and not args.bf16
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=tc.lr)
    sched = get_scheduler(args.lr_scheduler_type, opt, num_warmup_steps=args.get_warmup_steps(50),
                          num_training_steps=50, scheduler_specific_kwargs=args.lr_scheduler_kwargs)
    ours = lr_lambda(tc)
    for step in range(50):
        if step >= 5:
            assert opt.param_groups[0]["lr"] == pytest.approx(tc.lr * ours(step), rel=1e-6)
        opt.step()
        sched.step()
