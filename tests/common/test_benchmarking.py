"""The benchmark helper (interleaved comparison with output checks) and the throughput smoke run on CPU."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from common.benchmarking import MIN_ROUNDS, compare, interleave
from common.throughput import run_throughput


def _spin(seconds: float) -> None:
    """Busy-wait on this thread (counts as thread-CPU time)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_compare_measures_speedup_and_checks_outputs() -> None:
    calls: list[str] = []

    def ours() -> float:
        calls.append("o")
        _spin(0.001)
        return 1.0

    def ref() -> float:
        calls.append("r")
        _spin(0.004)
        return 1.0

    row = compare("spin", ours, ref, ours_label="1 ms", reference_label="4 ms", difference=lambda a, b: abs(a - b),
                  tolerance=0.0, difference_note="abs", target_speedup=2.0)
    assert 2.5 < row.speedup < 6 and row.speedup_lo <= row.speedup <= row.speedup_hi
    assert row.agree and row.target_met and row.rounds == MIN_ROUNDS
    assert calls[:2] == ["o", "r"] and calls[2:4] == ["o", "r"] and calls[4:6] == ["r", "o"]  # interleaved
    bad = compare("differs", lambda: 1.0, lambda: 1.5, ours_label="a", reference_label="b",
                  difference=lambda a, b: abs(a - b), tolerance=0.1, difference_note="abs")
    assert not bad.agree and bad.as_dict()["agree"] is False
    with pytest.raises(ValueError, match="at least 11 rounds"):
        interleave(ours, ref, rounds=5)


def test_gpu_throughput_runs_on_cpu_at_tiny_size(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    assert run_throughput(["kinematics", "contact", "eggflow"], tmp_path, tiny=True,
                          device=torch.device("cpu")) == 0
    rows = json.loads((tmp_path / "benchmarks_gpu.json").read_text())["rows"]
    assert [r["paper"] for r in rows] == ["kinematics", "contact", "eggflow"]
    for r in rows:
        assert r["model_items_per_s"] > 0 and r["flops_per_step"] > 0 and r["mfu"] is None
    assert rows[1]["loader_items_per_s"] > 0 and rows[1]["bottleneck"] in ("model", "data loader")
    assert (tmp_path / "benchmarks_gpu.png").stat().st_size > 0
    assert "| contact |" in (tmp_path / "benchmarks_gpu.md").read_text()
