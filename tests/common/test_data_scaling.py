"""The data-scaling benchmark: peak RSS in a fresh process, ours against a preloading reference (no timings)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.benchmarking import DataScaling, data_scaling, rss_growth

REPO = Path(__file__).resolve().parents[2]


def test_rss_growth_sees_memory_held_by_the_call() -> None:
    held = rss_growth("numpy", "ones", shape=[64, 1024, 1024], dtype="uint8")   # 64 MiB, pages written
    assert held["samples"] is None or held["samples"] is not None
    assert 60 <= held["growth_mib"] < 120 and held["baseline_mib"] > 0


def test_posellm_data_scaling_stays_below_the_preloading_reference(tmp_path: Path) -> None:
    from posellm.benchmark import write_coco_fixture

    result = data_scaling("posellm", "posellm.benchmark", "coco_data_pass", [2, 12],
                          lambda n: write_coco_fixture(tmp_path / f"coco_{n}", n), ours="lazy",
                          reference="preloaded")
    assert isinstance(result, DataScaling) and result.frames == [2, 12]
    assert result.samples == [4, 24]                                     # two persons per image, every one touched
    row = result.as_dict()
    assert {"ratio", "reference_ratio", "target_met", "ours_mib", "reference_mib"} <= set(row)
    held_mib = 10 * 640 * 480 * 3 / 2**20                                # the 10 extra decoded images
    assert result.reference_mib[-1] - result.reference_mib[0] > 0.8 * held_mib
    assert result.ours_mib[-1] < result.reference_mib[-1]
    assert result.ours_mib[-1] - result.ours_mib[0] < 0.5 * held_mib


def test_script_writes_the_data_scaling_page(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "scripts/benchmark.py", "data_scaling", "posellm", "--frames", "1", "3",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    section = json.loads((tmp_path / "benchmarks_data_scaling.json").read_text())
    assert [r["name"] for r in section["rows"]] == ["posellm"] and not section["errors"]
    assert section["rows"][0]["frames"] == [1, 3]
    assert "| posellm | 1 / 3 |" in (tmp_path / "benchmarks_data_scaling.md").read_text()
    assert (tmp_path / "benchmarks_data_scaling.png").stat().st_size > 0


@pytest.mark.parametrize("bad", ["no_such_function"])
def test_a_failing_call_names_itself(bad: str) -> None:
    with pytest.raises(RuntimeError, match=bad):
        rss_growth("numpy", bad)
