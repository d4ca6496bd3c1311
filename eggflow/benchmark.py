"""Benchmarks of eggflow: flow-matching head training throughput on cached features (`benchmark.py gpu`)."""

from __future__ import annotations

import torch

from common.throughput import ThroughputProbe, probe_from_module, register_throughput
from eggflow.config import EggFlowModelConfig
from eggflow.model import EggFlowModel


def _batch(size: int, device: torch.device) -> dict:
    """Random inputs shaped like a training batch with cached encoder features (20 past, 10 future frames)."""
    g = torch.Generator().manual_seed(0)
    batch = {"past": torch.randn(size, 20, 42, 3, generator=g),
             "past_valid": torch.ones(size, 20, 42, dtype=torch.bool),
             "past_extrinsics": torch.randn(size, 20, 12, generator=g),
             "future": torch.randn(size, 10, 42, 3, generator=g),
             "future_valid": torch.ones(size, 10, 42, dtype=torch.bool),
             "vision_feats": torch.randn(size, 65, 64, generator=g),
             "text_feats": torch.randn(size, 8, 64, generator=g)}
    return {k: v.to(device) for k, v in batch.items()}


@register_throughput("eggflow")
def throughput(device: torch.device, tiny: bool) -> ThroughputProbe:
    """EggHand objective on cached encoder features (the default model config)."""
    size = 4 if tiny else 256
    model = EggFlowModel(EggFlowModelConfig()).to(device)
    batch = _batch(size, device)
    return probe_from_module(f"EggFlow head (default config), cached features, batch {size}", model,
                             lambda: model(batch)[0], size, None, size,
                             batches_note="not measured: the synthetic windows are built with the encoder in "
                                          "eggflow.data.build_synthetic")
