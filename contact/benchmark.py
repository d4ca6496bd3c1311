"""`scripts/benchmark.py contact`: CRRNet training throughput and pipeline (regions -> neural IK) frames/s."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.data import default_collate

from common.benchmarking import BenchRow, best_time, peak_memory_mib, register_benchmark
from common.body import load_smpl, smpl_part_labels
from contact.config import ContactDataConfig, ContactModelConfig
from contact.model import CRRNet, crr_loss
from contact.pipeline import BodyParams, ContactRefiner, PipelineConfig
from contact.synthetic import HOIClipGenerator
from contact.task import ClipDataset


def _training_rate(model_cfg: ContactModelConfig, batch: dict[str, torch.Tensor], device: torch.device) -> float:
    """Clips per second of Adam training steps (forward, eq. 18 loss, backward, update)."""
    model = CRRNet(model_cfg).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = {k: v.to(device) for k, v in batch.items()}

    def step() -> None:
        loss = crr_loss(model(batch["images"], batch["object_points"], batch["K"]), batch["labels"])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return len(batch["labels"]) / best_time(step, repeat=3)


@register_benchmark("contact")
def run() -> list[BenchRow]:
    """Training clips/s of CRRNet vs the PiCR-style baseline (batch 8, T=7) and pipeline frames/s."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dcfg = ContactDataConfig()
    generator = HOIClipGenerator(dcfg)
    start = time.perf_counter()
    clips = [generator.clip(i) for i in range(8)]
    gen_rate = len(clips) / (time.perf_counter() - start)
    batch = default_collate([ClipDataset(clips, dcfg.frames)[i] for i in range(8)])
    ours = _training_rate(ContactModelConfig(), batch, device)
    picr = _training_rate(ContactModelConfig(window=1, temporal="none"), batch, device)
    mid = dcfg.frames // 2
    rough = BodyParams(torch.tensor(np.stack([c["gt_global_orient"][mid] for c in clips])),
                       torch.tensor(np.stack([c["rough_body_pose"][mid] for c in clips])),
                       torch.tensor(np.stack([c["rough_transl"][mid] for c in clips])),
                       torch.tensor(np.stack([c["betas"] for c in clips])))
    refiner = ContactRefiner(load_smpl(), smpl_part_labels(), PipelineConfig())
    points = torch.tensor(np.stack([c["object_points"][mid] for c in clips]))
    labels = np.stack([c["labels"][mid] for c in clips])
    model = CRRNet(ContactModelConfig()).eval()

    def pipeline() -> None:
        with torch.no_grad():
            model(batch["images"], batch["object_points"], batch["K"])
        refiner.refine(rough, points, labels, torch.tensor(np.stack([c["root_2d"][mid] for c in clips])),
                       torch.tensor(np.stack([c["K"][mid] for c in clips])))

    pipe_rate = len(clips) / best_time(pipeline, repeat=1)
    frames = f"batch 8 clips x T={dcfg.frames} frames of {dcfg.image_size}px, {dcfg.num_points} points, {device}"
    return [
        BenchRow("CRRNet training (k=7, T=7, GRU)", ours, "clips/s", "PiCR-style training", ours / picr,
                 extra={"frames_per_s": ours * dcfg.frames, "setup": frames}),
        BenchRow("PiCR-style training (bilinear, no GRU)", picr, "clips/s", extra={"setup": frames}),
        BenchRow("pipeline: CRRNet + per-part neural IK (middle frames)", pipe_rate, "frames/s",
                 extra={"ik_steps": PipelineConfig().ik_steps}),
        BenchRow("synthetic clip generation", gen_rate, "clips/s"),
        BenchRow("peak memory", peak_memory_mib(), "MiB"),
    ]
