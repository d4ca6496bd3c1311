"""Benchmarks of posellm: training throughput (tiny, or the paper's widths at reduced depth) (`benchmark.py gpu`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from common.throughput import ThroughputProbe, probe_from_module, register_throughput
from posellm.config import TinyLLMConfig, TinyVisionConfig
from posellm.data import collate_train
from posellm.inference import autocast
from posellm.keypoints import COCO_KEYPOINTS
from posellm.model import build_posellm
from posellm.reproduce import synthetic_setup

PAPER_VISION = TinyVisionConfig(hidden_size=1024, num_hidden_layers=4, num_attention_heads=16,
                                intermediate_size=4096, patch_size=14)
PAPER_LLM = TinyLLMConfig(hidden_size=4096, num_hidden_layers=2, num_attention_heads=32, num_key_value_heads=32,
                          intermediate_size=11008, vocab_size=512)
"""ViT-L/14 and Llama-7B widths at reduced depth (4 of 24 and 2 of 32 layers), random init."""
TURNS = 5


def _batch(codec, size: int, batch: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """A training batch of random crops with TURNS keypoint answers each."""
    items = []
    for _ in range(batch):
        names = list(rng.choice(COCO_KEYPOINTS, TURNS, replace=False))
        ids, labels = codec.conversation(names, rng.uniform(0, 1, (TURNS, 2)))
        items.append({"pixel_values": torch.randn(3, size, size), "input_ids": torch.tensor(ids),
                      "labels": torch.tensor(labels)})
    return collate_train(items, codec.tokenizer.pad_token_id)


@register_throughput("posellm")
def throughput(device: torch.device, tiny: bool) -> ThroughputProbe:
    """Tiny synthetic config (CPU smoke) or the paper's tower widths at reduced depth with crop 224 (bf16)."""
    model_cfg, data_cfg, _ = synthetic_setup()
    size, batch_size = data_cfg.image_size, 2
    if not tiny:
        model_cfg = dataclasses.replace(model_cfg, tiny_vision=PAPER_VISION, tiny_llm=PAPER_LLM)
        size, batch_size = 224, 16
    built = build_posellm(model_cfg, size)
    model = built.model.to(device)
    batch = {k: v.to(device) for k, v in _batch(built.codec, size, batch_size, np.random.default_rng(0)).items()}
    tokens = int(batch["input_ids"].numel())

    def loss() -> torch.Tensor:
        with autocast(device):
            return model(**batch)["loss"]

    label = "tiny synthetic config" if tiny else "ViT-L/14 + Llama-7B widths, 4 + 2 layers"
    return probe_from_module(f"{label}, batch {batch_size}, {TURNS} answers/sample, crop {size}px", model, loss,
                             batch_size, None, batch_size, tokens_per_step=tokens,
                             batches_note="not measured here: see posellm's data module")
