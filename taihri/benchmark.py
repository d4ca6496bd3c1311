"""Benchmarks of taihri: SFT-step throughput of the tiny random-init Qwen3-VL (`scripts/benchmark.py gpu`)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from common.throughput import ThroughputProbe, compose_config, probe_from_module, register_throughput
from taihri.api import load_frames
from taihri.config import TaihriModelConfig, data_config, model_config
from taihri.data import train_rows
from taihri.evaluation import row_image
from taihri.grammar import encode_answer
from taihri.prompts import PART_SETS, eval_prompt
from taihri.vlm import build_model_and_processor

SIZE = 96.0


def _inputs(processor, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Processor outputs for noise images with a prompt and a valid answer each; labels = the token ids."""
    from PIL import Image

    rng, images, texts = np.random.default_rng(0), [], []
    for i in range(batch):
        part = list(PART_SETS)[i % len(PART_SETS)]
        joints = list(PART_SETS[part])
        xyz = rng.uniform([-0.5, -0.5, 0.5], [0.5, 0.5, 2.5], (len(joints), 3))
        uv = xyz[:, :2] / xyz[:, 2:] * 80.0 + SIZE / 2
        images.append(Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)))
        texts.append(processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": eval_prompt(part)}]},
             {"role": "assistant", "content": [{"type": "text", "text": encode_answer(joints, uv, xyz, SIZE, SIZE)}]}],
            add_generation_prompt=False))
    out = processor(images=images, text=texts, return_tensors="pt", padding=True).to(device)
    out["labels"] = out["input_ids"].masked_fill(out["attention_mask"] == 0, -100)
    return dict(out)


@register_throughput("taihri")
def throughput(device: torch.device, tiny: bool) -> ThroughputProbe:
    """The tiny random-init Qwen3-VL on 96 px images (the paper model needs its downloaded folder)."""
    cfg = TaihriModelConfig(min_pixels=32 * 32, max_pixels=96 * 96, random_init=True)
    model, processor = build_model_and_processor(cfg, device)
    batch_size = 2 if tiny else 32
    inputs = _inputs(processor, batch_size, device)
    run_cfg = compose_config(["experiment=taihri/synthetic_sft", "debug=taihri"])
    mc, dc = model_config(run_cfg.model), data_config(run_cfg.data)
    frames = load_frames(dc, dc.train_split, dc.num_train, 0)
    rows = train_rows(frames, dc, 0, mc.answer_format, mc.system_prompt)

    def batches() -> Iterator[dict]:
        """What the SFT collator does per batch: read the images, chat template, processor."""
        while True:
            for start in range(0, len(rows) - batch_size + 1, batch_size):
                chunk = rows[start:start + batch_size]
                texts = [processor.apply_chat_template(
                    [{"role": "user", "content": [{"type": "image"}, {"type": "text",
                                                                       "text": r["prompt"][-1]["content"]}]},
                     {"role": "assistant", "content": [{"type": "text", "text": r["completion"][0]["content"]}]}],
                    add_generation_prompt=False) for r in chunk]
                yield processor(images=[row_image(r, frames) for r in chunk], text=texts, return_tensors="pt",
                                padding=True)

    return probe_from_module(f"tiny random-init Qwen3-VL, SFT step, batch {batch_size}, 96 px", model,
                             lambda: model(**inputs).loss, batch_size, batches, batch_size,
                             tokens_per_step=int(inputs["attention_mask"].sum()),
                             batches_note="synthetic frames' rows through the processor, as the SFT collator")
