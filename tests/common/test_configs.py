"""Every experiment config composes with Hydra and validates against the typed schemas."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from common import PAPERS
from common.training import trainer_config_from

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
EXPERIMENTS = sorted(p.relative_to(CONFIGS / "experiment").with_suffix("").as_posix()
                     for p in (CONFIGS / "experiment").rglob("*.yaml"))


def compose_cfg(overrides: list[str], name: str = "train"):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(name, overrides=overrides, return_hydra_config=True)


def test_every_paper_has_experiments():
    papers_with_configs = {e.split("/")[0] for e in EXPERIMENTS}
    assert papers_with_configs <= set(PAPERS)
    assert papers_with_configs, "no experiment configs found under configs/experiment/"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_validates(experiment):
    cfg = compose_cfg([f"experiment={experiment}"])
    assert cfg.paper == experiment.split("/")[0]
    trainer_config_from(cfg.trainer)
    api = importlib.import_module(f"{cfg.paper}.api")
    assert callable(api.train) and callable(api.evaluate)
    assert str(cfg.hydra.run.dir).split("/")[-4:-2] == experiment.split("/")


def test_wrong_key_fails_at_start_with_hydra_message(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), "experiment=" + EXPERIMENTS[0],
                          "trainer.no_such_key=1", f"hydra.run.dir={tmp_path}"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode != 0
    assert "no_such_key" in out.stderr


def test_slurm_launcher_preset_composes():
    cfg = compose_cfg(["hydra/launcher=slurm_gpu", "experiment=" + EXPERIMENTS[0]])
    assert cfg.hydra.launcher.gpus_per_node == 1
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")


def test_multirun_sweep_overrides_compose():
    cfg = compose_cfg(["experiment=" + EXPERIMENTS[0], "seed=2", "trainer.lr=3e-4"])
    assert cfg.seed == 2 and cfg.trainer.lr == pytest.approx(3e-4)


DOCUMENTED = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted(CONFIGS.rglob("*.yaml"))]


@pytest.mark.parametrize("doc", DOCUMENTED, ids=lambda p: p.relative_to(REPO).as_posix())
def test_documented_commands_name_existing_experiments_and_scripts(doc):
    text = doc.read_text()
    stale = sorted({e for e in re.findall(r"experiment=([A-Za-z0-9_]+/[A-Za-z0-9_]+)", text)
                    if not (CONFIGS / "experiment" / f"{e}.yaml").exists()})
    stale += sorted({s for s in re.findall(r"scripts/([A-Za-z0-9_]+\.py)", text)
                     if not (REPO / "scripts" / s).exists()})
    assert not stale, f"{doc.relative_to(REPO)} mentions {stale}, which do not exist"
    from scripts.reproduce import parse_args

    for line in re.findall(r"scripts/reproduce\.py([^`#\n|]*)", text):
        args = [a for a in line.split() if not any(c in a for c in "<[]>$")]
        try:
            parse_args(args)
        except SystemExit as err:
            pytest.fail(f"{doc.relative_to(REPO)}: `scripts/reproduce.py{line}` is not a valid command: {err}")


def test_debug_group_composes_for_every_paper():
    for paper in PAPERS:
        experiment = next(e for e in EXPERIMENTS if e.startswith(paper + "/"))
        cfg = compose_cfg([f"experiment={experiment}", f"debug={paper}"])
        assert cfg.trainer.max_steps <= 2 and cfg.trainer.progress_bar is False
