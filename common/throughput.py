"""`python scripts/benchmark.py gpu`: per-paper training throughput, peak memory, MFU and data-loader rate.

Each paper's benchmark module registers a `ThroughputProbe` factory (`register_throughput`): one training
step on a fixed batch at reduced depth (or tiny sizes for the CPU smoke test) and an iterator over batches of
its own data pipeline. The runner counts the step's FLOPs with torch.utils.flop_counter (forward + backward
as dispatched), times steps and loader batches, and writes results/benchmarks_gpu.{json,md,png}: model
samples/s next to data-loader samples/s, so the slower side (the bottleneck) is visible at a glance.
MFU = counted FLOPs x steps/s / the device's dense bf16 peak (known datacenter GPUs only; none on CPU).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from common import PAPERS
from common.benchmarking import peak_memory_mib
from common.device import default_device


@dataclass
class ThroughputProbe:
    """One paper's measurable training step and data pipeline."""

    description: str
    step: Callable[[], Any]
    """One optimiser step (forward, loss, backward, update) on a fixed batch already on the device."""
    items_per_step: int
    batches: Callable[[], Iterator[Any]] | None
    """Fresh iterator over the paper's data pipeline (DataLoader), or None with `batches_note` saying why."""
    items_per_batch: int
    item: str = "samples"
    tokens_per_step: int | None = None
    parameters: int = 0
    batches_note: str = ""


ProbeFn = Callable[[torch.device, bool], ThroughputProbe]
_PROBES: dict[str, ProbeFn] = {}
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12,
                   "A10": 125e12, "V100": 125e12}
"""Dense bf16 (fp16 for V100) tensor-core peaks by device-name substring, from the vendors' data sheets."""


def register_throughput(paper: str) -> Callable[[ProbeFn], ProbeFn]:
    """Decorator: register `fn(device, tiny) -> ThroughputProbe` for `paper`."""

    def wrap(fn: ProbeFn) -> ProbeFn:
        _PROBES[paper] = fn
        return fn

    return wrap


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_flops(device: torch.device) -> float | None:
    """Dense bf16 peak FLOP/s of a known CUDA device, else None."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


def measure(paper: str, probe: ThroughputProbe, device: torch.device, steps: int, loader_batches: int
            ) -> dict[str, Any]:
    """Steps/s, items/s, tokens/s, peak memory, FLOPs per step, MFU, and the loader's items/s."""
    probe.step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with FlopCounterMode(display=False) as counter:
        probe.step()
    flops = float(counter.get_total_flops())
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        probe.step()
    _sync(device)
    steps_per_s = steps / (time.perf_counter() - start)
    memory = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else peak_memory_mib())
    peak = peak_flops(device)
    row = {"paper": paper, "description": probe.description, "device": str(device), "item": probe.item,
           "parameters": probe.parameters, "steps_per_s": steps_per_s,
           "model_items_per_s": steps_per_s * probe.items_per_step,
           "tokens_per_s": None if probe.tokens_per_step is None else steps_per_s * probe.tokens_per_step,
           "flops_per_step": flops, "achieved_flops": flops * steps_per_s,
           "mfu": None if peak is None else flops * steps_per_s / peak,
           "peak_memory_mib": memory, "memory_kind": "CUDA max allocated" if device.type == "cuda" else
           "process peak RSS", "loader_items_per_s": None, "loader_note": probe.batches_note}
    if probe.batches is not None:
        iterator = probe.batches()
        next(iterator)
        start = time.perf_counter()
        count = 0
        for _ in range(loader_batches):
            try:
                next(iterator)
            except StopIteration:
                break
            count += probe.items_per_batch
        row["loader_items_per_s"] = count / (time.perf_counter() - start) if count else None
    loader = row["loader_items_per_s"]
    row["bottleneck"] = None if loader is None else ("data loader" if loader < row["model_items_per_s"]
                                                      else "model")
    return row


def markdown(rows: list[dict[str, Any]], tiny: bool) -> str:
    """The throughput table."""
    lines = ["# GPU throughput per paper" + (" (tiny sizes: CPU smoke test, not comparable)" if tiny else ""), "",
             "Written by `python scripts/benchmark.py gpu` (common/throughput.py). Model side: one training step on a "
             "fixed batch; data side: the paper's data pipeline alone. MFU from FLOPs counted by "
             "torch.utils.flop_counter over the dense bf16 peak of the device.", "",
             "| paper | setup | device | params | model items/s | tokens/s | loader items/s | bottleneck | "
             "GFLOP/step | MFU | peak memory |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tokens = "-" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.3g}"
        loader = "-" if r["loader_items_per_s"] is None else f"{r['loader_items_per_s']:.3g}"
        mfu = "-" if r["mfu"] is None else f"{100 * r['mfu']:.1f} %"
        note = f" ({r['loader_note']})" if r["loader_note"] else ""
        lines.append(f"| {r['paper']} | {r['description']} | {r['device']} | {r['parameters'] / 1e6:.3g} M | "
                     f"{r['model_items_per_s']:.3g} {r['item']} | {tokens} | {loader}{note} | "
                     f"{r['bottleneck'] or '-'} | {r['flops_per_step'] / 1e9:.3g} | {mfu} | "
                     f"{r['peak_memory_mib']:.0f} MiB ({r['memory_kind']}) |")
    return "\n".join(lines) + "\n"


def figure(rows: list[dict[str, Any]], path: Path, tiny: bool) -> None:
    """Horizontal bars per paper: data-loader items/s against model items/s (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.4))
    for i, r in enumerate(rows):
        ax.barh(i + 0.2, r["model_items_per_s"], height=0.38, color="tab:blue",
                label="model (training step)" if i == 0 else None)
        if r["loader_items_per_s"] is not None:
            ax.barh(i - 0.2, r["loader_items_per_s"], height=0.38, color="tab:orange",
                    label="data loader" if i == 0 else None)
    ax.set_yticks(range(len(rows)), [r["paper"] for r in rows])
    ax.set_xscale("log")
    for i, r in enumerate(rows):
        if r["loader_items_per_s"] is None:
            ax.text(ax.get_xlim()[0] * 1.1, i - 0.2, "data loader not measured", va="center", fontsize=8)
    ax.set_xlabel("samples (or clips / problems) per second, log scale")
    device = rows[0]["device"] if rows else "?"
    ax.set_title(f"Data loader vs model throughput per paper ({device}{', tiny sizes' if tiny else ''})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_throughput(papers: list[str], out_dir: Path, tiny: bool = False, device: torch.device | None = None
                   ) -> int:
    """Measure every registered paper (or the named ones) and write benchmarks_gpu.{json,md,png} in out_dir."""
    device = device or default_device()
    tiny = tiny or device.type != "cuda"
    for paper in papers or PAPERS:
        importlib.import_module(f"{paper}.benchmark")
    names = [p for p in (papers or PAPERS) if p in _PROBES]
    rows = []
    for paper in names:
        probe = _PROBES[paper](device, tiny)
        rows.append(measure(paper, probe, device, steps=2 if tiny else 10, loader_batches=2 if tiny else 10))
        r = rows[-1]
        print(f"{paper:10s} model {r['model_items_per_s']:9.3g} {r['item']}/s  loader "
              f"{r['loader_items_per_s'] or float('nan'):9.3g}/s  MFU {r['mfu']}  mem {r['peak_memory_mib']:.0f} MiB",
              flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "benchmarks_gpu.json").write_text(json.dumps({"tiny": tiny, "rows": rows}, indent=1) + "\n")
    (out_dir / "benchmarks_gpu.md").write_text(markdown(rows, tiny))
    if rows:
        figure(rows, out_dir / "benchmarks_gpu.png", tiny)
    return 0


def compose_config(overrides: list[str]) -> Any:
    """The run config `scripts/train.py <overrides>` would use (Hydra compose over configs/train.yaml)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(Path(__file__).resolve().parents[1] / "configs"), version_base=None):
        return compose("train", overrides=overrides)


def probe_from_module(description: str, model: torch.nn.Module, loss_fn: Callable[[], torch.Tensor],
                      items_per_step: int, batches: Callable[[], Iterator[Any]] | None, items_per_batch: int,
                      item: str = "samples", tokens_per_step: int | None = None, batches_note: str = "",
                      lr: float = 1e-4) -> ThroughputProbe:
    """A probe whose step is AdamW on `loss_fn()` over the trainable parameters of `model`."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=lr)

    def step() -> None:
        loss = loss_fn()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return ThroughputProbe(description, step, items_per_step, batches, items_per_batch, item, tokens_per_step,
                           sum(p.numel() for p in params), batches_note)

