"""`scripts/benchmark.py posellm`: training samples/s, inference keypoints/s and peak memory."""

from __future__ import annotations

import numpy as np
import torch

from common.benchmarking import BenchRow, best_time, peak_memory_mib, register_benchmark
from posellm.config import PoseLLMModelConfig, TinyLLMConfig, TinyVisionConfig
from posellm.data import collate_train
from posellm.inference import autocast, base_network
from posellm.keypoints import COCO_KEYPOINTS
from posellm.model import build_posellm
from posellm.reproduce import synthetic_setup

PAPER_VISION = TinyVisionConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                intermediate_size=4096, patch_size=14)
PAPER_LLM = TinyLLMConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                          intermediate_size=11008, vocab_size=512)


def _batch(codec, size: int, batch: int, turns: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """A training batch of random crops with `turns` keypoint answers each."""
    items = []
    for _ in range(batch):
        names = list(rng.choice(COCO_KEYPOINTS, turns, replace=False))
        ids, labels = codec.conversation(names, rng.uniform(0, 1, (turns, 2)))
        items.append({"pixel_values": torch.randn(3, size, size), "input_ids": torch.tensor(ids),
                      "labels": torch.tensor(labels)})
    return collate_train(items, codec.tokenizer.pad_token_id)


def measure(cfg: PoseLLMModelConfig, size: int, batch: int, device: torch.device, tag: str) -> list[BenchRow]:
    """Rows for one configuration: a full optimiser step and batched greedy answers for 17 keypoints."""
    built = build_posellm(cfg, size)
    model = built.model.to(device)
    codec = built.codec
    data = {k: v.to(device) for k, v in _batch(codec, size, batch, 5, np.random.default_rng(0)).items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step() -> None:
        with autocast(device):
            loss = model(**data)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    train_s = best_time(step, repeat=3)
    net = base_network(model).eval()
    tok = codec.tokenizer
    queries = [codec.query(n) for n in COCO_KEYPOINTS]
    length = max(map(len, queries))
    ids = torch.tensor([[tok.pad_token_id] * (length - len(q)) + q for q in queries], device=device)
    mask = (ids != tok.pad_token_id).long()
    images = 4

    def answer() -> None:
        with torch.no_grad(), autocast(device):
            img = net.image_embeddings(torch.randn(images, 3, size, size, device=device))
            net.generate_answers(img.repeat_interleave(len(queries), 0), ids.repeat(images, 1),
                                 mask.repeat(images, 1), cfg.max_new_tokens, tok.pad_token_id, tok.eos_token_id)

    infer_s = best_time(answer, repeat=3)
    memory = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else peak_memory_mib())
    unit_note = f"{tag}, batch {batch}, 5 answers/sample, crop {size}px"
    return [BenchRow(f"train samples/s ({tag})", batch / train_s, "samples/s", extra={"setup": unit_note}),
            BenchRow(f"inference keypoints/s ({tag})", images * len(queries) / infer_s, "keypoints/s",
                     extra={"setup": f"{tag}, {images} images x 17 queries, greedy"}),
            BenchRow(f"peak memory ({tag})", memory, "MiB")]


@register_benchmark("posellm")
def run() -> list[BenchRow]:
    """Tiny synthetic configuration on CPU; on CUDA also the paper's shapes (ViT-L/14 + 7B) in bf16."""
    torch.set_num_threads(1)          # tiny models run fastest on one intra-op thread on a shared box
    model_cfg, data_cfg, trainer = synthetic_setup()
    rows = measure(model_cfg, data_cfg.image_size, int(trainer.batch_size), torch.device("cpu"), "tiny, CPU")
    if torch.cuda.is_available():
        paper = PoseLLMModelConfig(tiny_vision=PAPER_VISION, tiny_llm=PAPER_LLM, max_new_tokens=13)
        rows += measure(paper, 224, 4, torch.device("cuda"), "paper shapes random-init, CUDA bf16")
    return rows
