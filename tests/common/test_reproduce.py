"""Tables as config: schema validation, verdicts over seeds, and the runner end to end on a fixture config
(tests/common/reproduce_fixture/kinematics.yaml: tiny kinematics solver rows)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from common.reproduce import Options, reproduce
from common.reproduce_report import summary, verdict
from common.reproduce_run import plan
from common.reproduce_spec import SpecError, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "reproduce_fixture"


def fixture_node() -> dict:
    return OmegaConf.to_container(OmegaConf.load(FIXTURE / "kinematics.yaml"))


def test_verdicts_by_seed_and_mean():
    assert verdict({0: 1.0, 1: 2.0}, {0: 3.0, 1: 4.0}, "lower")["verdict"] == "every_seed"
    mean_only = verdict({0: 1.0, 1: 5.0}, {0: 3.0, 1: 4.0}, "lower")  # mean 3 < 3.5, seed 1 loses
    assert mean_only == {"verdict": "mean_only", "held_seeds": 1, "seeds": 2}
    assert verdict({0: 4.0, 1: 5.0}, {0: 3.0, 1: 4.0}, "lower") == {"verdict": "no", "held_seeds": 0, "seeds": 2}
    assert verdict({0: 0.5, 1: 0.8}, {0: 0.6}, "higher") == {"verdict": "mean_only", "held_seeds": 1, "seeds": 2}
    # 3 seeds against 2: paired on the common seeds 0 and 1 (seed 2 only enters the mean)
    assert verdict({0: 1.0, 1: 1.0, 2: 9.0}, {0: 2.0, 1: 2.0}, "lower") == {
        "verdict": "no", "held_seeds": 2, "seeds": 2}
    stats = summary([1.0, 2.0, 6.0])
    assert stats["mean"] == 3.0 and stats["std"] == pytest.approx(2.6457513) and stats["max"] == 6.0


def test_fixture_plans_seeds_profiles_and_dependencies(tmp_path):
    spec = load_spec("kinematics", FIXTURE)
    units = {u.key: u for u in plan(spec, "synthetic", "fast", None, tmp_path)}
    assert sorted(units) == ["kinematics/neural/seed0", "kinematics/neural/seed1", "kinematics/neural_eval/seed0",
                             "kinematics/neural_eval/seed1", "kinematics/trf/seed0"]
    assert units["kinematics/neural_eval/seed1"].depends_on == "kinematics/neural/seed1"
    full = plan(spec, "synthetic", "full", None, tmp_path)
    assert len([u for u in full if u.run_id == "neural"]) == 3
    assert all("trainer.max_steps=12" in u.overrides for u in full)
    assert len(plan(spec, "synthetic", "fast", 4, tmp_path)) == 9  # seeds=4: 4 + 4 + the unseeded trf
    with pytest.raises(SpecError, match="no profile 'huge'"):
        plan(spec, "synthetic", "huge", None, tmp_path)
    with pytest.raises(SpecError, match="no real-data variant"):
        plan(spec, "real", "fast", None, tmp_path)
    cmd = units["kinematics/neural/seed1"].command(None)
    assert cmd.startswith("OMP_NUM_THREADS=1 python scripts/train.py experiment=kinematics/neural_ik "
                          "data.problems_per_chain=1 ")
    assert "seed=1 hydra.run.dir=" in cmd


@pytest.mark.parametrize(("edit", "message"), [
    (lambda n: n["tables"][0]["rows"][0].update(kind="mine"), "kind='mine'"),
    (lambda n: n["tables"][0]["rows"][0].update(no_such_key=1), "no_such_key"),
    (lambda n: n["tables"][0]["rows"][0].update(seeds="two"), "seeds"),
    (lambda n: n["tables"][0]["orderings"][0].update(worse="nobody"), "orderings\\[0\\].worse='nobody'"),
    (lambda n: n["tables"][0]["orderings"][0].update(metric="fde"), "metric='fde'"),
    (lambda n: n["tables"][1]["rows"][0].update({"from": "ghost"}), "refers to run 'ghost'"),
    (lambda n: n["tables"][0]["rows"][2].pop("values"), "needs `values:"),
    (lambda n: n["tables"][0]["rows"][1].update({"from": "neural"}), "exactly one"),
    (lambda n: n["tables"][0]["metrics"].update(reach_cm="smaller"), "use one of"),
    (lambda n: n["tables"][2]["rows"][0].update(action="train"), "set `action: evaluate`"),
])
def test_schema_errors_name_the_key(edit, message):
    node = copy.deepcopy(fixture_node())
    edit(node)
    with pytest.raises(SpecError, match=message):
        parse_spec(node, "fixture.yaml")


def test_runner_end_to_end_two_processes_then_reuse(tmp_path):
    opts = Options(results_dir=tmp_path / "results", output_root=tmp_path / "out", jobs=2)
    md_path, json_path = reproduce(["kinematics"], opts, FIXTURE)["kinematics"]
    data = json.loads(json_path.read_text())
    solvers = data["tables"][0]
    rows = {r["id"]: r for r in solvers["rows"]}
    assert rows["neural"]["seeds"] == [0, 1] and rows["trf"]["seeds"] == [0]
    per_seed = rows["neural"]["metrics"]["mpjpe_mm"]["per_seed"]
    for seed, value in enumerate(per_seed):
        saved = json.loads((tmp_path / f"out/reproduce/kinematics/synthetic-fast/neural/seed{seed}/"
                                       "train_metrics.json").read_text())
        assert saved["mpjpe_mm"] == value
    assert rows["neural"]["metrics"]["mpjpe_mm"]["mean"] == pytest.approx(sum(per_seed) / 2)
    assert rows["paper"]["metrics"] == {"mpjpe_mm": summary([1.0])}
    trf = rows["trf"]["metrics"]["mpjpe_mm"]["mean"]
    order = solvers["orderings"][0]
    assert order["held_seeds"] == sum(v < trf for v in per_seed)
    assert data["tables"][1]["rows"][0]["metrics"]["err"]["per_seed"] == per_seed  # from: + renamed column
    assert data["tables"][2]["rows"][0]["commands"][1].startswith(
        "OMP_NUM_THREADS=1 python scripts/evaluate.py experiment=kinematics/neural_ik")
    assert f"ckpt={tmp_path}/out/reproduce/kinematics/synthetic-fast/neural/seed1/config.yaml" in \
        data["tables"][2]["rows"][0]["commands"][1]
    text = md_path.read_text()
    assert "Published (the paper's numbers" in text and "seed=1 hydra.run.dir=" in text
    assert text.index("| trust region | baseline | 1 |") < text.index("Published")

    log_file = tmp_path / "out/reproduce/kinematics/synthetic-fast/neural/seed0/reproduce.log"
    assert "kinematics train finished" in log_file.read_text()
    opts.reuse, opts.jobs = True, 1
    again = json.loads(reproduce(["kinematics"], opts, FIXTURE)["kinematics"][1].read_text())
    assert again["tables"] == data["tables"]


def test_reproduce_rejects_unknown_arguments():
    for arg, message in (("data=imagenet", "data=synthetic or data=real"), ("jobs=0", "positive integer"),
                         ("color=red", "unknown argument")):
        out = subprocess.run([sys.executable, str(REPO / "scripts" / "reproduce.py"), arg],
                             capture_output=True, text=True, timeout=120, cwd=REPO)
        assert out.returncode != 0 and message in out.stderr, out.stderr


def test_save_figure_writes_png_into_new_folder_and_closes(tmp_path):
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    fig = plt.figure()
    path = save_figure(fig, tmp_path / "paper" / "fig.png", dpi=50)
    assert path == tmp_path / "paper" / "fig.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
