"""Sharded evaluation of CRRNet (issue 23): `ContactTask.predict` + `compute_metrics` equal the former rank-0
`evaluate`, and under 2-process torchrun (gloo) the paper's train entry evaluates its held-out clips sharded
over the ranks with the same scores as the single-process `contact.api.evaluate` of its final weights."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from common.training import evaluate_checkpoint
from contact.api import evaluate, synthetic_clips
from contact.config import data_config, model_config
from contact.evaluation import confusion_matrix, contact_scores
from contact.labels import NUM_CLASSES
from contact.model import CRRNet, crr_loss
from contact.task import NETWORK_KEYS, ContactTask

REPO = Path(__file__).resolve().parents[2]
TINY = ["debug=contact", "data.eval_clips=5", "data.train_clips=4", "data.frames=3", "data.image_size=16",
        "data.num_points=16", "model.window=3", "model.img_channels=4", "model.hourglass_depth=1",
        "model.point_hidden=8", "model.gru_hidden=8", "trainer.eval_batch_size=2"]
"""The paper's synthetic experiment at debug size; 5 held-out clips: not divisible by 2 ranks x batch 2."""


def tiny_configs():
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=contact/crrnet_synthetic", *TINY])
    return model_config(cfg.model), data_config(cfg.data)


@torch.no_grad()
def former_evaluate(task: ContactTask, model: torch.nn.Module, loader: DataLoader) -> dict[str, float]:
    """The rank-0 `ContactTask.evaluate` that predict/compute_metrics replace (batch-mean loss x batch size)."""
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    loss_sum, clips = 0.0, 0
    for batch in loader:
        batch = {k: batch[k] for k in NETWORK_KEYS}
        logits = model(batch["images"], batch["object_points"], batch["K"])
        loss_sum += float(crr_loss(logits, batch["labels"], task.model_cfg.loss_weight)) * len(logits)
        clips += len(logits)
        mid = logits.shape[1] // 2
        conf += confusion_matrix(logits[:, mid].argmax(dim=-1), batch["labels"][:, mid])
    return {**contact_scores(conf), "l_crr": loss_sum / max(clips, 1)}


def briefly_trained(task: ContactTask, steps: int = 40) -> CRRNet:
    """The task's model after `steps` Adam steps on its training clips (an untrained one predicts one class)."""
    model = task.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    batch = next(iter(DataLoader(task.train_dataset(), batch_size=len(task.train_clips))))
    for _ in range(steps):
        loss, _ = task.training_step(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def assert_same_scores(got: dict[str, float], want: dict[str, float]) -> None:
    """Confusion-matrix scores identical (NaN for absent classes included); L_CRR up to float32 summation."""
    assert list(got) == list(want)
    for key, value in want.items():
        if key.endswith("l_crr"):
            assert got[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert got[key] == value or (math.isnan(got[key]) and math.isnan(value)), (key, got[key], value)


def test_predict_and_compute_metrics_equal_the_former_evaluate(tmp_path: Path) -> None:
    torch.manual_seed(0)
    mcfg, dcfg = tiny_configs()
    train, held_out = synthetic_clips(dcfg, None, None)
    task = ContactTask(mcfg, dcfg, train, held_out)
    model = briefly_trained(task)
    loader = DataLoader(task.eval_dataset(), batch_size=2)
    with torch.no_grad():
        outputs = [task.predict(model, batch) for batch in loader]
    assert [len(o["pred"]) for o in outputs] == [2, 2, 1]
    assert len(torch.cat([o["pred"] for o in outputs]).unique()) > 1
    reference = former_evaluate(task, model, loader)
    assert_same_scores(task.compute_metrics(outputs), reference)
    model.save_pretrained(tmp_path / "folder")          # the evaluate-from-checkpoint helper, another batching
    assert_same_scores(evaluate_checkpoint(task, tmp_path / "folder", batch_size=3), reference)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_sharded_evaluation_equals_single_process(tmp_path: Path) -> None:
    """Rank 0 scores clips 0-2, rank 1 clips 3-4; CRRNet's BatchNorm statistics must be rank 0's on both ranks
    (each rank's last training forward updates its own), as in the saved weights."""
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(REPO / "scripts" / "train.py"),
           "experiment=contact/crrnet_synthetic", *TINY, "trainer.max_steps=40", "trainer.lr=0.02",
           f"paths.cache_dir={tmp_path / 'cache'}", f"run_dir={run_dir}", f"hydra.run.dir={run_dir}"]
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sharded = {k: math.nan if v is None else v                            # strict JSON: NaN was written as null
               for k, v in json.loads((run_dir / "train_metrics.json").read_text()).items()}
    cfg = OmegaConf.load(run_dir / "config.yaml")
    cfg.ckpt = str(run_dir / "checkpoints" / "final")
    single = evaluate(cfg)                                  # one process, held-out clips in batches of 2
    assert sharded["contact_iou"] > 0                       # the model predicts contact parts, not one class
    assert_same_scores(single, sharded)
