"""`scripts/benchmark.py eggflow`: training samples/s, 4-step forecast latency per clip on CPU, peak memory."""

from __future__ import annotations

import torch

from common.benchmarking import BenchRow, best_time, peak_memory_mib, register_benchmark
from eggflow.config import EggFlowModelConfig
from eggflow.model import EggFlowModel


def _batch(size: int, raw: bool) -> dict:
    """Random inputs shaped like a training batch (raw video + text, or cached encoder features)."""
    g = torch.Generator().manual_seed(0)
    batch = {"past": torch.randn(size, 20, 42, 3, generator=g),
             "past_valid": torch.ones(size, 20, 42, dtype=torch.bool),
             "past_extrinsics": torch.randn(size, 20, 12, generator=g),
             "future": torch.randn(size, 10, 42, 3, generator=g),
             "future_valid": torch.ones(size, 10, 42, dtype=torch.bool)}
    if raw:
        batch["video"] = torch.rand(size, 3, 4, 224, 224, generator=g)
        batch["text"] = ["pick up the red cup"] * size
    else:
        batch["vision_feats"] = torch.randn(size, 65, 64, generator=g)
        batch["text_feats"] = torch.randn(size, 8, 64, generator=g)
    return batch


@register_benchmark("eggflow")
def run() -> list[BenchRow]:
    """Tiny default configuration on CPU (1 thread), EggHand objective through the 4-step sampler."""
    torch.set_num_threads(1)
    rows = []
    for objective in ("egghand", "velocity"):
        model = EggFlowModel(EggFlowModelConfig(objective=objective))
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        batch = _batch(64, raw=False)

        def step(model: EggFlowModel = model, opt: torch.optim.Optimizer = opt, batch: dict = batch) -> None:
            loss, _ = model(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()

        seconds = best_time(step, repeat=3)
        rows.append(BenchRow(f"training samples/s ({objective} loss, cached features, batch 64)", 64 / seconds,
                             "samples/s"))
    model = EggFlowModel(EggFlowModelConfig()).eval()
    clip = _batch(1, raw=True)
    latency = best_time(lambda: model.forecast(clip), repeat=5)
    rows.append(BenchRow("forecast latency per clip (encoder + 4 Euler steps, CPU, 1 thread)", latency * 1e3, "ms"))
    feats = _batch(1, raw=False)
    head = best_time(lambda: model.forecast(feats), repeat=5)
    rows.append(BenchRow("forecast latency per clip, cached encoder features", head * 1e3, "ms",
                         reference="with encoder", ratio=head / latency))
    rows.append(BenchRow("peak memory (CPU RSS)", peak_memory_mib(), "MiB"))
    return rows
