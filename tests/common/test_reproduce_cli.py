"""One trained row per paper, at debug size, gives identical metrics through `python scripts/train.py
<the row's printed command>` and through the reproduce runner (configs/reproduce/<paper>.yaml)."""

from __future__ import annotations

import fnmatch
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from common import PAPERS
from common.reproduce import configured_papers
from common.reproduce_run import plan, run_units
from common.reproduce_spec import load_spec
from tests.test_experiments_smoke import fixture_overrides

REPO = Path(__file__).resolve().parents[2]
DEBUG = REPO / "configs" / "debug"
WALL_CLOCK_METRICS = ("*per_s", "*step_s", "*runtime*", "*seconds*", "*_time", "*throughput*")
"""Metrics that measure this machine's speed, not the model: the only keys allowed to differ."""


def _model_metrics(metrics: dict[str, float | None]) -> dict[str, float | str]:
    """Model metrics only; NaN (json null or NaN: e.g. IoU of an absent class) as 'nan' so NaN equals NaN."""
    def norm(v: float | None) -> float | str:
        return "nan" if v is None or math.isnan(v) else v

    return {k: norm(v) for k, v in metrics.items() if not any(fnmatch.fnmatch(k, p) for p in WALL_CLOCK_METRICS)}


def _debug_keys(paper: str) -> set[str]:
    """Dotted keys that debug=<paper> sets (row overrides of these keys are dropped to stay at debug size)."""
    def flatten(node: dict, prefix: str = "") -> set[str]:
        keys = set()
        for k, v in node.items():
            keys |= flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return keys

    return set().union(*(flatten({k: v for k, v in OmegaConf.to_container(OmegaConf.load(DEBUG / f)).items()
                                  if k != "defaults"}) for f in ("default.yaml", f"{paper}.yaml")))


@pytest.mark.parametrize("paper", PAPERS)
def test_row_gives_identical_metrics_through_cli_and_reproduce(paper, tmp_path, monkeypatch):
    assert paper in configured_papers(), f"configs/reproduce/{paper}.yaml is missing: every paper declares its tables"
    monkeypatch.setenv("EHP_CACHE_DIR", str(tmp_path / "cache"))
    spec = load_spec(paper)
    units = [u for u in plan(spec, "synthetic", "fast", 1, tmp_path / "reproduce")
             if u.action == "train" and u.ckpt_from is None]
    unit = units[0]
    debug_keys = _debug_keys(paper)
    unit.overrides = [*(o for o in unit.overrides if o.split("=", 1)[0].lstrip("+~") not in debug_keys),
                      f"debug={paper}", *fixture_overrides(unit.experiment, tmp_path / "fx")]
    ours = run_units([unit], jobs=2)[unit.key]  # a spawned worker, as in the main job: no state of earlier tests
    assert ours.error is None, ours.error

    cli_dir = tmp_path / "cli"
    overrides = [o if not o.startswith("hydra.run.dir=") else f"hydra.run.dir={cli_dir}"
                 for o in unit.hydra_overrides(None)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EHP_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "scripts/train.py", *overrides], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    cli = json.loads((cli_dir / "train_metrics.json").read_text())
    assert _model_metrics(cli) == _model_metrics(ours.metrics)
    assert _model_metrics(cli), "the row returned no model metric"
