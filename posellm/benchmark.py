"""Benchmarks of posellm: the answer loss from labelled positions against full-sequence logits with a per-token
weight loop, and training throughput (tiny, or the paper's widths at reduced depth) (`benchmark.py gpu`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader

from common.benchmarking import Comparison, compare, register_benchmark
from common.throughput import ThroughputProbe, compose_config, probe_from_module, register_throughput
from posellm.config import TinyLLMConfig, TinyVisionConfig, data_config
from posellm.data import KeypointTrainSet, collate_train
from posellm.inference import autocast, base_network
from posellm.keypoints import COCO_KEYPOINTS
from posellm.model import build_posellm
from posellm.pipeline import load_splits
from posellm.reproduce import synthetic_setup
from posellm.text import IGNORE_INDEX

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

    cfg = compose_config(["experiment=posellm/synthetic", "debug=posellm"])
    data = data_config(cfg.data)
    splits = load_splits(data, cfg.paths.cache_dir)
    train_set = KeypointTrainSet(splits.train, built.codec, data, model_cfg.image_mean, model_cfg.image_std, seed=0)
    pad = built.codec.tokenizer.pad_token_id

    def batches() -> Iterator[dict]:
        while True:
            yield from DataLoader(train_set, batch_size=batch_size, shuffle=True,
                                  collate_fn=lambda items: collate_train(items, pad))

    label = "tiny synthetic config" if tiny else "ViT-L/14 + Llama-7B widths, 4 + 2 layers"
    return probe_from_module(f"{label}, batch {batch_size}, {TURNS} answers/sample, crop {size}px", model, loss,
                             batch_size, batches, batch_size, tokens_per_step=tokens,
                             batches_note="KeypointTrainSet over the synthetic COCO-format split (debug size)")


def _loop_weights(targets: list[int], is_digit: torch.Tensor, weights: tuple[float, ...]) -> list[float]:
    """Reference digit-place weights, token by token: the k-th digit of a digit run gets weights[min(k, n-1)]."""
    out, place = [], 0
    for tok in targets:
        digit = tok != IGNORE_INDEX and bool(is_digit[tok])
        out.append(weights[min(place, len(weights) - 1)] if digit else 1.0)
        place = place + 1 if digit else 0
    return out


def _full_logits_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Reference: logits at every position of the merged sequence, weights from the loop, weighted mean CE."""
    net = base_network(model)
    embeds, mask, labs = net.merge(net.image_embeddings(batch["pixel_values"]), batch["input_ids"],
                                   batch["attention_mask"], batch["labels"])
    position_ids = (mask.long().cumsum(1) - 1).clamp(min=0)
    logits = net.llm(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids).logits[:, :-1]
    targets = labs[:, 1:]
    weights = torch.tensor([_loop_weights(row, net.is_digit, net.digit_weights) for row in targets.tolist()])
    ce = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none",
                                           ignore_index=IGNORE_INDEX)
    weights = weights * (targets != IGNORE_INDEX)
    return (ce * weights).sum() / weights.sum()


@register_benchmark("posellm")
def run() -> list[Comparison]:
    """Training loss of the tiny synthetic config, batch 8 with 5 answers each, forward only, one thread."""
    torch.set_num_threads(1)
    model_cfg, data_cfg, _ = synthetic_setup()
    built = build_posellm(model_cfg, data_cfg.image_size)
    model = built.model.eval()
    batch = _batch(built.codec, data_cfg.image_size, 8, np.random.default_rng(0))
    with torch.no_grad():
        return [compare("answer loss, batch 8 x 5 answers (tiny config)", lambda: model(**batch)["loss"],
                        lambda: _full_logits_loss(model, batch),
                        ours_label="PoseLLM.forward: logits at labelled positions, vectorised digit weights",
                        reference_label="full-sequence logits, per-token weight loop",
                        difference=lambda o, r: float((o - r).abs()), tolerance=1e-5,
                        difference_note="|loss difference| (nats)")]
