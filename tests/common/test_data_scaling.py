"""The data-scaling benchmark: peak RSS in a fresh process, ours against a preloading reference (no timings)."""

import importlib.util
from pathlib import Path

import pytest

from common.benchmarking import DataScaling, data_scaling, rss_growth

REPO = Path(__file__).resolve().parents[2]


def test_rss_growth_sees_memory_held_by_the_call() -> None:
    held = rss_growth("numpy", "ones", shape=[64, 1024, 1024], dtype="uint8")   # 64 MiB, every page written
    assert held["samples"] is None and held["peak_reset"] and held["baseline_mib"] > 0
    assert 60 <= held["growth_mib"] < 90


def test_posellm_data_scaling_stays_below_the_preloading_reference(tmp_path: Path) -> None:
    from posellm.benchmark import write_coco_fixture

    result = data_scaling("posellm", "posellm.benchmark", "coco_data_pass", [2, 20],
                          lambda n: write_coco_fixture(tmp_path / f"coco_{n}", n), ours="lazy",
                          reference="preloaded", repeats=1)
    assert isinstance(result, DataScaling) and result.frames == [2, 20]
    assert result.samples == [4, 40]                                     # two persons per image, every one touched
    row = result.as_dict()
    assert {"ratio", "reference_ratio", "target_met", "ours_mib", "reference_mib"} <= set(row)
    held_mib = 18 * 640 * 480 * 3 / 2**20                                # the 18 extra decoded images
    assert result.reference_mib[-1] - result.reference_mib[0] > 0.8 * held_mib
    assert result.ours_mib[-1] < result.reference_mib[-1] - 0.5 * held_mib


def test_script_writes_the_data_scaling_page(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("benchmark_script", REPO / "scripts" / "benchmark.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    row = DataScaling("posellm", "lazy", "preloaded", [2, 20], [20.0, 23.0], [22.0, 40.0], [1.0, 2.0], [4, 40],
                      1.2).as_dict()
    assert row["ratio"] == pytest.approx(1.15) and row["target_met"]
    assert row["reference_ratio"] == pytest.approx(20 / 11)
    section = {"machine": script._machine(), "rows": [row], "errors": {}}
    page = script.data_scaling_markdown(section)
    assert "| posellm | 2 / 20 | 20.0 / 23.0 | **1.15x** | 22.0 / 40.0 | 1.82x |" in page and "< 1.2x met" in page
    script.data_scaling_figure([row], tmp_path / "figure.png")
    assert (tmp_path / "figure.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("bad", ["no_such_function"])
def test_a_failing_call_names_itself(bad: str) -> None:
    with pytest.raises(RuntimeError, match=bad):
        rss_growth("numpy", bad)
