"""`scripts/train.py experiment=contact/...` runs end to end (tiny sizes); `api.evaluate` reloads its weights."""

import json
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from contact.api import evaluate

REPO = Path(__file__).resolve().parents[2]


def test_train_script_runs_the_contact_experiment(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    overrides = ["experiment=contact/crrnet_synthetic", "trainer.max_steps=1", "trainer.batch_size=2",
                 "trainer.progress_bar=false", "trainer.eval_batch_size=2", "data.train_clips=2", "data.eval_clips=2",
                 "data.frames=2", "data.image_size=16", "data.num_points=16", "model.window=3",
                 "model.img_channels=4", "model.point_hidden=8", "model.gru_hidden=8", f"paths.cache_dir={tmp_path}",
                 f"run_dir={run_dir}", f"hydra.run.dir={run_dir}"]
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *overrides], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((run_dir / "train_metrics.json").read_text())
    assert next(iter(metrics)) == "miou" and 0.0 <= metrics["accuracy"] <= 1.0
    assert (run_dir / "metrics.json").exists()
    cfg = OmegaConf.load(run_dir / "config.yaml")                              # resolved config of the run
    cfg.ckpt = str(run_dir / "checkpoints" / "final")
    scores = evaluate(cfg)
    assert next(iter(scores)) == "miou" and "majority/miou" in scores
    assert abs(scores["accuracy"] - metrics["accuracy"]) < 1e-6              # same weights, same clips
