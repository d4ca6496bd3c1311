"""The one benchmarking helper: contenders interleaved round by round on identical inputs, outputs compared.

`compare` runs `ours` and `reference` once each as warm-up (their outputs are compared there: a row fails when
they differ beyond its tolerance), then for `rounds` rounds alternately ours-first / reference-first,
recording wall and thread-CPU time of every call. The figure is the per-round speed-up reference/ours
(equivalently ours/reference in throughput), reported as its median with the 10th-90th percentile spread.
It is computed from thread-CPU time by default (contenders run on one thread; on a shared machine wall
time mostly measures the neighbours); `clock="wall"` for work that leaves the thread (CUDA, workers).
Benchmarks register with `register_benchmark` and return a list of `Comparison`; `scripts/benchmark.py`
runs them and writes `results/benchmarks.json` and `results/benchmarks.md`.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common import PAPERS

BenchmarkFn = Callable[[], list["Comparison"]]
_REGISTRY: dict[str, BenchmarkFn] = {}
_MODULES = {"metrics": "common.metrics.benchmark", **{p: f"{p}.benchmark" for p in PAPERS}}
MIN_ROUNDS = 11


@dataclass
class Timing:
    """Per-call wall and thread-CPU seconds of one contender over the timed rounds."""

    wall_s: list[float]
    cpu_s: list[float]

    @property
    def median_wall_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s)


@dataclass
class Comparison:
    """One benchmark row: ours against a reference on the same inputs, with agreement and target verdicts."""

    name: str
    ours: str
    reference: str
    speedup: float
    """Median over rounds of reference time / our time (> 1: ours is faster), on `clock`."""
    speedup_lo: float
    speedup_hi: float
    """10th and 90th percentiles of the per-round speed-ups."""
    ours_wall_s: float
    reference_wall_s: float
    ours_cpu_s: float
    reference_cpu_s: float
    rounds: int
    difference: float
    """How far the outputs differ, as measured by the row's `difference` function."""
    tolerance: float
    difference_note: str
    target: str = ""
    target_met: bool | None = None
    notes: str = ""
    clock: str = "cpu"
    """Which time the speed-up compares: thread-CPU ("cpu") or wall ("wall")."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        """Whether the outputs agree within the stated tolerance."""
        return self.difference <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict including the agreement verdict."""
        return {**asdict(self), "agree": self.agree}


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile q in [0, 1] of values."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Output, wall seconds and thread-CPU seconds of one call."""
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - wall0, time.thread_time() - cpu0


def interleave(ours: Callable[[], Any], reference: Callable[[], Any], rounds: int = MIN_ROUNDS,
               warmup: int = 1) -> tuple[Any, Any, Timing, Timing]:
    """Warm-up outputs of both contenders and their timings over `rounds` alternating rounds."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"at least {MIN_ROUNDS} rounds are needed for a median and spread, got {rounds}")
    out_ours = out_ref = None
    for _ in range(max(warmup, 1)):
        out_ours, out_ref = ours(), reference()
    t_ours, t_ref = Timing([], []), Timing([], [])
    gc.collect()
    gc.disable()  # no collector pauses inside one contender's timing
    try:
        for r in range(rounds):
            order = ((ours, t_ours), (reference, t_ref)) if r % 2 == 0 else ((reference, t_ref), (ours, t_ours))
            for fn, timing in order:
                _, wall, cpu = _timed(fn)
                timing.wall_s.append(wall)
                timing.cpu_s.append(cpu)
    finally:
        gc.enable()
    return out_ours, out_ref, t_ours, t_ref


def compare(name: str, ours: Callable[[], Any], reference: Callable[[], Any], *, ours_label: str,
            reference_label: str, difference: Callable[[Any, Any], float], tolerance: float,
            difference_note: str, rounds: int = MIN_ROUNDS, warmup: int = 1, target_speedup: float | None = None,
            target_seconds: float | None = None, notes: str = "", extra: dict[str, Any] | None = None,
            clock: str = "cpu") -> Comparison:
    """Interleaved comparison of two callables that take no arguments (they close over the same inputs).

    `difference(ours_output, reference_output)` is compared with `tolerance` (the row fails above it).
    `target_speedup`: the median speed-up must reach it; `target_seconds`: our median thread-CPU time
    (one core) must stay below it. Wall and thread-CPU times are medians over the rounds.
    """
    out_ours, out_ref, t_ours, t_ref = interleave(ours, reference, rounds, warmup)
    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    ours_s, ref_s = (t_ours.cpu_s, t_ref.cpu_s) if clock == "cpu" else (t_ours.wall_s, t_ref.wall_s)
    ratios = [r / max(o, 1e-9) for o, r in zip(ours_s, ref_s)]
    speedup = statistics.median(ratios)
    target, met = "", None
    if target_speedup is not None:
        target, met = f">= {target_speedup:g}x", speedup >= target_speedup
    if target_seconds is not None:
        text = f"< {target_seconds:g} s CPU (one core)"
        target = f"{target}; {text}" if target else text
        met = (met is not False) and t_ours.median_cpu_s < target_seconds
    return Comparison(name=name, ours=ours_label, reference=reference_label, speedup=speedup,
                      speedup_lo=_percentile(ratios, 0.1), speedup_hi=_percentile(ratios, 0.9),
                      ours_wall_s=t_ours.median_wall_s, reference_wall_s=t_ref.median_wall_s,
                      ours_cpu_s=t_ours.median_cpu_s, reference_cpu_s=t_ref.median_cpu_s, rounds=rounds,
                      difference=float(difference(out_ours, out_ref)), tolerance=tolerance,
                      difference_note=difference_note, target=target, target_met=met, notes=notes,
                      clock=clock, extra=dict(extra or {}))


def register_benchmark(name: str) -> Callable[[BenchmarkFn], BenchmarkFn]:
    """Decorator: register a benchmark returning a list of `Comparison`."""

    def wrap(fn: BenchmarkFn) -> BenchmarkFn:
        _REGISTRY[name] = fn
        return fn

    return wrap


def available() -> list[str]:
    """Names of the comparison benchmarks registered by the modules that exist (imports them)."""
    for mod in _MODULES.values():
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod)
    return [n for n in _MODULES if n in _REGISTRY]


def load(name: str) -> BenchmarkFn:
    """Import the module that registers `name` and return its function."""
    if name not in _MODULES:
        raise KeyError(f"unknown benchmark {name!r}; choose one of {sorted(_MODULES)}")
    importlib.import_module(_MODULES[name])
    if name not in _REGISTRY:
        raise KeyError(f"{_MODULES[name]} does not register a benchmark named {name!r}")
    return _REGISTRY[name]


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (MiB, CPU); use torch.cuda.max_memory_allocated on GPU."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_kib(field_name: str) -> int:
    """One `Vm*` line of /proc/self/status (KiB)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field_name + ":"))


def _reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark (Linux >= 4.0 `clear_refs` 5); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def measure_rss_child(spec: str) -> None:
    """Child side of `rss_growth`: import, reset the peak mark, run the call, print peak above baseline (JSON)."""
    task = json.loads(spec)
    fn = getattr(importlib.import_module(task["module"]), task["function"])
    gc.collect()
    reset = _reset_peak_rss()
    baseline = _rss_kib("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = fn(**task["kwargs"])
    samples = result if isinstance(result, int) else None
    peak = _rss_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_mib": baseline / 1024, "peak_mib": peak / 1024, "growth_mib": (peak - baseline)
                      / 1024, "seconds": time.perf_counter() - start, "samples": samples, "peak_reset": reset}))


def rss_growth(module: str, function: str, env: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Peak resident memory (MiB) of `module.function(**kwargs)` above the RSS after its imports, in a fresh process.

    The child imports `module`, resets its peak-RSS mark (so import-time spikes do not hide the call's), runs the
    call on one thread and reports the peak above that baseline; the call returns how many samples it touched.
    """
    spec = json.dumps({"module": module, "function": function, "kwargs": kwargs})
    code = "import sys; from common.benchmarking import measure_rss_child; measure_rss_child(sys.argv[1])"
    child_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    done = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True, env=child_env,
                          cwd=Path(__file__).resolve().parents[1], check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{module}.{function}({kwargs}) failed in its subprocess:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class DataScaling:
    """Peak RSS (MiB above the post-import baseline) of one epoch's data pass at N and 10N frames, both loaders."""

    name: str
    ours: str
    reference: str
    frames: list[int]
    ours_mib: list[float]
    reference_mib: list[float]
    ours_seconds: list[float]
    samples: list[int]
    target_ratio: float
    notes: str = ""
    ours_range: list[list[float]] = field(default_factory=list)
    """Per frame count, [min, max] of our peak over the repeated processes (the figures above are medians)."""

    @property
    def ratio(self) -> float:
        """Our peak at the largest frame count over our peak at the smallest."""
        return self.ours_mib[-1] / max(self.ours_mib[0], 1e-9)

    @property
    def reference_ratio(self) -> float:
        return self.reference_mib[-1] / max(self.reference_mib[0], 1e-9)

    @property
    def target_met(self) -> bool:
        return self.ratio < self.target_ratio

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict with both ratios and the verdict."""
        return {**asdict(self), "ratio": self.ratio, "reference_ratio": self.reference_ratio,
                "target_met": self.target_met}


def data_scaling(name: str, module: str, function: str, frames: list[int], write_fixture: Callable[[int], Path],
                 *, ours: str, reference: str, target_ratio: float = 1.2, notes: str = "",
                 repeats: int = 3) -> DataScaling:
    """`module.function(root=..., preload=False|True)` measured by `rss_growth` on `write_fixture(n)` per frame count.

    Each point runs `repeats` times, each in its own process, ours and the preloading reference alternately, and
    keeps the median (glibc's heap retention makes one process's peak vary by a few MiB); dataset indices are
    cached next to the fixture (env `EHP_DATA_CACHE`), so the repository cache is untouched.
    """
    ours_mib, ref_mib, seconds, samples, ours_range = [], [], [], [], []
    for n in frames:
        root = write_fixture(n)
        env = {"EHP_DATA_CACHE": str(root / ".index_cache")}
        mine, held = [], []
        for _ in range(repeats):
            mine.append(rss_growth(module, function, env=env, root=str(root), preload=False))
            held.append(rss_growth(module, function, env=env, root=str(root), preload=True))
        growth = [m["growth_mib"] for m in mine]
        ours_mib.append(float(statistics.median(growth)))
        ours_range.append([min(growth), max(growth)])
        ref_mib.append(float(statistics.median([h["growth_mib"] for h in held])))
        seconds.append(float(statistics.median([m["seconds"] for m in mine])))
        samples.append(mine[0]["samples"])
    return DataScaling(name, ours, reference, list(frames), ours_mib, ref_mib, seconds, samples, target_ratio, notes,
                       ours_range)
