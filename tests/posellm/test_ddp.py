"""posellm/coco (the paper config, paths/sizes/steps overridden) under 2-process DDP (torchrun, gloo on CPU):
one checkpoint, one model folder, one evaluation (sharded, equal to the single-process one), folder reloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.common.test_training import free_port
from tests.posellm.fixtures import write_coco, write_humanart, write_mpii
from tests.posellm.paper_run import paper_overrides, run
from tests.posellm.real_layout import write_dinov2, write_vicuna

REPO = Path(__file__).resolve().parents[2]


def test_two_process_ddp_from_the_paper_config(tmp_path: Path) -> None:
    root = tmp_path / "world"
    write_coco(root / "coco", n_train=4, n_val=3)
    write_humanart(root)
    write_mpii(root / "mpii")
    vicuna, dinov2 = write_vicuna(root / "vicuna"), write_dinov2(root / "dinov2")
    overrides = [*paper_overrides(root, vicuna, dinov2, steps=2), "trainer.ckpt_every=2", "trainer.num_workers=1"]
    run_dir = tmp_path / "run"
    spec = {"action": "train", "experiment": "posellm/coco", "overrides": overrides, "run_dir": str(run_dir)}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "EHP_LAUNCH_ID": "ddp-test"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()),
           str(REPO / "tests" / "posellm" / "paper_run.py"), json.dumps(spec)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-4000:]
    ranks = [json.loads((run_dir / f"metrics_rank{r}.json").read_text()) for r in (0, 1)]
    timing = {"train_runtime_s"}
    assert {k: v for k, v in ranks[0].items() if k not in timing} == {k: v for k, v in ranks[1].items()
                                                                       if k not in timing}   # broadcast
    assert ranks[0]["train_steps"] == 2
    assert sorted(p.name for p in (run_dir / "hf").iterdir()) == ["checkpoint-2"]
    assert sorted(p.name for p in (run_dir / "hf" / "checkpoint-2").glob("rng_state_*.pth")) == [
        "rng_state_0.pth", "rng_state_1.pth"]
    assert json.loads((run_dir / "train_metrics.json").read_text())["AP"] == pytest.approx(ranks[0]["AP"])
    # The sharded evaluation equals a single-process evaluation of the saved folder.
    final = run_dir / "checkpoints" / "final"
    single = run("evaluate", "posellm/coco", [*overrides, f"ckpt={final}"], tmp_path / "eval")
    for key in ("AP", "humanart_AP", "mpii_PCKh@0.5", "unparsed_rate"):
        assert single[key] == pytest.approx(ranks[0][key]), key
