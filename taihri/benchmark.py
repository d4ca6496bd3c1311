"""TAIHRI benchmark: answer length per part set, generation tokens/s, SFT and GRPO step time (tiny config)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from common.benchmarking import BenchRow, register_benchmark
from taihri.config import TaihriModelConfig
from taihri.grammar import encode_answer
from taihri.prompts import PART_SETS, eval_prompt
from taihri.trl_training import run_grpo, run_sft
from taihri.vlm import build_model_and_processor

SIZE = 96.0


def _rows(count: int) -> list[dict]:
    """Noise-image rows with valid answers for every part set (timing only)."""
    from PIL import Image

    rng, rows = np.random.default_rng(0), []
    for i in range(count):
        part = list(PART_SETS)[i % len(PART_SETS)]
        joints = list(PART_SETS[part])
        xyz = rng.uniform([-0.5, -0.5, 0.5], [0.5, 0.5, 2.5], (len(joints), 3))
        uv = xyz[:, :2] / xyz[:, 2:] * 80.0 + SIZE / 2
        rows.append({"image": Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)),
                     "prompt": [{"role": "user", "content": eval_prompt(part)}],
                     "completion": [{"role": "assistant", "content": encode_answer(joints, uv, xyz, SIZE, SIZE)}],
                     "part": part, "joints": joints, "uv": uv.tolist(), "xyz": xyz.tolist(),
                     "K": [[80.0, 0, SIZE / 2], [0, 80.0, SIZE / 2], [0, 0, 1.0]], "width": SIZE, "height": SIZE})
    return rows


def _trainer_cfg(steps: int) -> OmegaConf:
    return OmegaConf.create({"seed": 0, "logger": {"name": "none"},
                             "trainer": {"max_steps": steps, "batch_size": 8, "lr": 1e-4, "log_every": 100,
                                         "progress_bar": False, "resume": "none"}})


@register_benchmark("taihri")
def run() -> list[BenchRow]:
    """Measured on the tiny random-init Qwen3-VL (CUDA if available, else CPU)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = TaihriModelConfig(min_pixels=32 * 32, max_pixels=96 * 96)
    cfg.grpo.num_generations, cfg.grpo.max_completion_length = 8, 40
    model, processor = build_model_and_processor(cfg, device)
    rows = _rows(16)
    out = []
    for part, joints in PART_SETS.items():
        answer = next(r for r in rows if r["part"] == part)["completion"][0]["content"]
        out.append(BenchRow(f"answer length {part} ({len(joints)} joints)",
                            len(processor.tokenizer(answer)["input_ids"]), "tokens",
                            extra={"box_adds": 6}))
    texts = [processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {
        "type": "text", "text": r["prompt"][0]["content"]}]}], add_generation_prompt=True) for r in rows[:8]]
    inputs = processor(images=[r["image"] for r in rows[:8]], text=texts, return_tensors="pt",
                       padding=True).to(device)
    model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    start = time.perf_counter()
    model.generate(**inputs, max_new_tokens=40, min_new_tokens=40, do_sample=False)
    out.append(BenchRow("generation, batch 8, greedy", 8 * 40 / (time.perf_counter() - start), "tokens/s",
                        target=device))
    with tempfile.TemporaryDirectory() as tmp:
        _, sft = run_sft(model, processor, rows, _trainer_cfg(10), cfg, Path(tmp) / "sft")
        _, grpo = run_grpo(model, processor, rows, _trainer_cfg(4), cfg, Path(tmp) / "grpo")
    out.append(BenchRow("SFT step (batch 8)", sft["train_step_s"], "s", target=device))
    out.append(BenchRow("GRPO step (batch 8, 8 generations x 40 tokens)", grpo["train_step_s"], "s",
                        target=device))
    return out
