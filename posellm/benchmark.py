"""Benchmarks of posellm: the answer loss from labelled positions against full-sequence logits with a per-token
weight loop, training throughput (tiny, or the paper's widths at reduced depth) (`benchmark.py gpu`), and the COCO
loader's peak memory at N and 10N images (`benchmark.py data_scaling`). Model imports are local to the model
benchmarks so the data-pass subprocesses import only the data stack."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from common.benchmarking import Comparison, DataScaling, compare, register_benchmark
from common.benchmarking import data_scaling as measure_data_scaling
from common.data.base import read_rgb
from common.throughput import ThroughputProbe, compose_config, probe_from_module, register_throughput
from posellm.config import TinyLLMConfig, TinyVisionConfig, data_config, model_config
from posellm.data import KeypointTrainSet, coco_paths, collate_train, load_coco_instances
from posellm.keypoints import COCO_KEYPOINTS
from posellm.text import IGNORE_INDEX, PromptCodec, build_tiny_tokenizer

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
    from posellm.inference import autocast
    from posellm.model import build_posellm
    from posellm.pipeline import load_splits
    from posellm.reproduce import synthetic_setup

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
    from posellm.inference import base_network

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
    from posellm.model import build_posellm
    from posellm.reproduce import synthetic_setup

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


DATA_FRAMES = [8, 80]
"""N and 10N COCO-format fixture images (640x480 JPEGs, two persons each) of the data-scaling figure."""
DATA_BATCH = 4


def write_coco_fixture(root: Path, frames: int) -> Path:
    """A COCO 2017 keypoints fixture with `frames` 640x480 train images (the tests' format writer)."""
    from tests.posellm.fixtures import write_coco

    return write_coco(root, n_train=frames, n_val=1, width=640, height=480)


def coco_data_pass(root: str, preload: bool) -> int:
    """One epoch of the trainer's `KeypointTrainSet` (paper `coco` config on `root`) through a DataLoader; samples.

    `preload`: the reference that also holds every train image decoded (uint8 RGB) for the whole pass, as a
    loader that reads the dataset into memory up front would.
    """
    cfg = compose_config(["experiment=posellm/coco", f"data.root={root}"])
    data, model = data_config(cfg.data), model_config(cfg.model)
    instances, _ = load_coco_instances(*coco_paths(data.root, "train2017"))
    held = [read_rgb(path) for path in dict.fromkeys(i.image_path for i in instances)] if preload else []
    train_set = KeypointTrainSet(instances, PromptCodec(build_tiny_tokenizer()), data, model.image_mean,
                                 model.image_std)
    touched = 0
    for batch in DataLoader(train_set, batch_size=DATA_BATCH, collate_fn=lambda items: collate_train(items, 0)):
        touched += int(batch["pixel_values"].shape[0])
    del held                                       # held until the pass is over
    return touched


def data_scaling(workdir: Path, frames: list[int] = DATA_FRAMES) -> DataScaling:
    """Peak RSS of one COCO training data pass at each image count, lazy dataset against the preloading reference."""
    return measure_data_scaling(
        "posellm", "posellm.benchmark", "coco_data_pass", frames,
        lambda n: write_coco_fixture(workdir / f"coco_{n}", n),
        ours="KeypointTrainSet: image read and cropped in __getitem__, torch DataLoader",
        reference="same pass with every decoded train image (uint8 RGB) held in memory",
        notes=f"paper `coco` data config (224 px crops, augmentation on) on 640x480 JPEGs with two persons each, "
              f"batch {DATA_BATCH}, num_workers=0")
