"""Benchmarks of taihri: SFT-step throughput of the tiny random-init Qwen3-VL (`scripts/benchmark.py gpu`) and
the real-data loader's peak memory at N and 10N EgoBody frames (`scripts/benchmark.py data_scaling`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from common.benchmarking import DataScaling
from common.benchmarking import data_scaling as measure_data_scaling
from common.throughput import ThroughputProbe, compose_config, probe_from_module, register_throughput
from taihri.api import load_frames
from taihri.config import TaihriModelConfig, data_config, model_config
from taihri.data import train_rows
from taihri.evaluation import row_image
from taihri.frames import Frames, image_dataset
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


DATA_FRAMES = [8, 80]
"""N and 10N EgoBody-layout fixture frames (640x480 PV JPEGs) of the data-scaling figure."""
DATA_BATCH = 4


def write_egobody_fixture(root: Path, frames: int) -> Path:
    """An EgoBody-release fixture of `frames` 640x480 train frames (test writer), prepared by prepare_egobody.py."""
    from tests.taihri.real_layout import write_egobody_release

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("prepare_egobody", repo / "scripts" / "prepare_egobody.py")
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    write_egobody_release(root, frames_per_split=frames, size=(480, 640))
    prepare.prepare(root, "train", None)
    return root


def sft_data_pass(root: str, preload: bool) -> int:
    """One epoch of the SFT trainer's dataset (paper `sft` config on `root`) through a DataLoader; images touched.

    `preload`: the reference that holds every frame's decoded model-input image in memory (`Frames.in_memory`,
    float32 as the loader returns it) and serves the same rows from it.
    """
    dc = data_config(compose_config(["experiment=taihri/sft", f"data.root={root}"]).data)
    frames = load_frames(dc, dc.train_split, 0, 0)
    if preload:
        frames = Frames.in_memory([frames.sample(i) for i in range(len(frames))])
    rows = train_rows(frames, dc, 0)
    dataset = image_dataset(rows, ("prompt", "completion"), lambda row: row_image(row, frames))
    touched = 0
    for batch in DataLoader(dataset, batch_size=DATA_BATCH, collate_fn=list):
        touched += sum(int(np.asarray(item["image"]).size > 0) for item in batch)
    return touched


def data_scaling(workdir: Path, frames: list[int] = DATA_FRAMES) -> DataScaling:
    """Peak RSS of one SFT data pass at each frame count, lazy loader against the preloading reference."""
    return measure_data_scaling(
        "taihri", "taihri.benchmark", "sft_data_pass", frames,
        lambda n: write_egobody_fixture(workdir / f"egobody_{n}", n),
        ours="column-wise frame index, rows built per access, frames decoded per batch (taihri.frames."
             "image_dataset), torch DataLoader",
        reference="same rows served from every frame's decoded float32 image held in memory (Frames.in_memory)",
        notes=f"paper `sft` data config (canonical focal 1000 px, no crop) on 640x480 PV JPEGs, "
              f"every prompt row once, batch {DATA_BATCH}, num_workers=0")
