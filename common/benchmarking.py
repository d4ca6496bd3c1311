"""Registry of named benchmarks run by `scripts/benchmark.py <name>`, and timing helpers."""

from __future__ import annotations

import importlib
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from common import PAPERS

BenchmarkFn = Callable[[], list["BenchRow"]]
_REGISTRY: dict[str, BenchmarkFn] = {}
_MODULES = {**{p: f"{p}.benchmark" for p in PAPERS}, "metrics": "common.metrics.benchmark",
            "data": "common.data.benchmark"}


@dataclass
class BenchRow:
    """One measured figure; `ratio` compares it with a reference measured in the same run."""

    name: str
    value: float
    unit: str
    reference: str = ""
    ratio: float | None = None
    target: str = ""
    extra: dict = field(default_factory=dict)


def register_benchmark(name: str) -> Callable[[BenchmarkFn], BenchmarkFn]:
    """Decorator: register a benchmark returning a list of `BenchRow`."""

    def wrap(fn: BenchmarkFn) -> BenchmarkFn:
        _REGISTRY[name] = fn
        return fn

    return wrap


def available() -> list[str]:
    """Names of the benchmarks whose modules exist."""
    return [n for n, mod in _MODULES.items() if importlib.util.find_spec(mod) is not None]


def load(name: str) -> BenchmarkFn:
    """Import the module that registers `name` and return its function."""
    if name not in _MODULES:
        raise KeyError(f"unknown benchmark {name!r}; choose one of {sorted(_MODULES)}")
    importlib.import_module(_MODULES[name])
    return _REGISTRY[name]


def best_time(fn: Callable[[], object], repeat: int = 3, number: int = 1) -> float:
    """Best wall time in seconds over `repeat` runs of `number` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (MiB, CPU); use torch.cuda.max_memory_allocated on GPU."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
