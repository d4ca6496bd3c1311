"""Benchmarks of eggflow: the Euler sampler with per-sample conditioning against recomputing it every step,
and the head's training throughput on cached features (`benchmark.py gpu`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from common.benchmarking import Comparison, compare, register_benchmark
from common.throughput import ThroughputProbe, compose_config, probe_from_module, register_throughput
from eggflow.api import parse_configs
from eggflow.config import EggFlowModelConfig
from eggflow.model import EggFlowModel
from eggflow.task import EggFlowData, EggFlowTask


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
    cfg = compose_config(["experiment=eggflow/synthetic", "debug=eggflow"])
    model_cfg, data_cfg = parse_configs(cfg)
    task = EggFlowTask(EggFlowData(model_cfg, data_cfg, Path(cfg.paths.cache_dir)), eval_set=None)
    dataset = task.train_dataset()

    def batches() -> Iterator[dict]:
        while True:
            yield from DataLoader(dataset, batch_size=size, shuffle=True, collate_fn=task.collate)

    return probe_from_module(f"EggFlow head (default config), cached features, batch {size}", model,
                             lambda: model(batch)[0], size, batches, size,
                             batches_note="EggFlowTask's synthetic windows with cached features (debug size)")


def _recomputing_sampler(model: EggFlowModel, batch: dict, seed: int) -> torch.Tensor:
    """Reference: the same Euler sampler recomputing state tokens and VL keys/values at every step."""
    head = model.action_head
    state, vl = model.state(batch), model.vl_tokens(batch)
    steps = head.cfg.num_inference_timesteps
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(state.shape[0], head.horizon, head.cfg.max_action_dim, generator=gen)
    for k in range(steps):
        t = torch.full((state.shape[0],), k / steps)
        z = z + head.velocity(z, t, head.condition(state, vl)) / steps
    return model.to_metres(head.action_proj_out(z), batch)


@register_benchmark("eggflow")
def run() -> list[Comparison]:
    """4-step forecast of a batch of 64 windows from cached features, one thread."""
    torch.set_num_threads(1)
    model = EggFlowModel(EggFlowModelConfig()).eval()
    batch = _batch(64, torch.device("cpu"))
    with torch.no_grad():
        return [compare("forecast, 4 Euler steps, batch 64 (cached features)",
                        lambda: model.forecast(batch, torch.Generator().manual_seed(0)),
                        lambda: _recomputing_sampler(model, batch, 0),
                        ours_label="EggFlowModel.forecast (state + VL keys/values once per sample)",
                        reference_label="same sampler, conditioning recomputed every step",
                        difference=lambda o, r: float((o - r).abs().max()), tolerance=1e-5,
                        difference_note="max |joint difference| (m)")]
