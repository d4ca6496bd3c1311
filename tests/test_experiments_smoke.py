"""Every experiment config trains at debug size and its checkpoint evaluates (lightning-hydra-template
pattern): configs/experiment/<paper>/<name>.yaml + `debug=<paper>` + the overrides of the paper's fixture
writer (tests/<paper>/smoke.py: `smoke_overrides(experiment, tmp) -> list[str]`, real-format data and
tiny real-layout checkpoints written under tmp), run through common.entry.run -- the function behind
scripts/train.py and scripts/evaluate.py -- composed exactly as those scripts compose it."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from common.entry import run
from common.reproduce_run import RunUnit, compose, find_checkpoint

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
EXPERIMENTS = sorted(p.relative_to(CONFIGS / "experiment").with_suffix("").as_posix()
                     for p in (CONFIGS / "experiment").rglob("*.yaml"))
NO_CHECKPOINT = {"kinematics"}
"""Papers whose model is solved per problem (no trained weights): evaluate ignores `ckpt`."""
def fixture_overrides(experiment: str, tmp: Path) -> list[str]:
    """The paper's fixture writer's overrides for `experiment` ([] if the paper has no writer)."""
    paper = experiment.split("/")[0]
    try:
        module = importlib.import_module(f"tests.{paper}.smoke")
    except ModuleNotFoundError as err:
        if err.name != f"tests.{paper}.smoke":
            raise
        return []
    return list(module.smoke_overrides(experiment, tmp))


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One cache folder for the experiments of this module (caches are keyed by content, written atomically)."""
    return tmp_path_factory.mktemp("cache")


def check_metrics(metrics: dict[str, float], optimized: str | None) -> None:
    """Numbers, none infinite; the optimised metric finite (per-class entries may be NaN: class absent)."""
    assert metrics, "no metrics returned"
    assert not any(math.isinf(float(v)) for v in metrics.values()), metrics
    if optimized is not None:
        assert optimized in metrics and math.isfinite(float(metrics[optimized])), (optimized, metrics)
    assert any(math.isfinite(float(v)) for v in metrics.values()), metrics


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_trains_and_evaluates_at_debug_size(experiment, tmp_path, shared_cache, monkeypatch):
    monkeypatch.setenv("EHP_CACHE_DIR", str(shared_cache))
    paper = experiment.split("/")[0]
    overrides = [f"debug={paper}", *fixture_overrides(experiment, tmp_path / "fixtures")]
    train = RunUnit(paper, "smoke", 0, "train", experiment, overrides, tmp_path / "train")
    cfg = compose(train, None)
    assert cfg.trainer.max_steps <= 2, "debug=<paper> must keep the step count tiny"
    metrics = run(cfg, "train")
    check_metrics(metrics, cfg.get("optimized_metric"))

    ckpt = train.run_dir if paper in NO_CHECKPOINT else find_checkpoint(train.run_dir)
    evaluate = RunUnit(paper, "smoke", 0, "evaluate", experiment, overrides, tmp_path / "evaluate")
    eval_metrics = run(compose(evaluate, ckpt), "evaluate")
    check_metrics(eval_metrics, cfg.get("optimized_metric"))
    assert set(eval_metrics) & set(metrics), "evaluate reports none of the metrics train reported"
