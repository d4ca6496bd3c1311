"""Benchmarks of contact: CRRNet training throughput and its data pipeline (`scripts/benchmark.py gpu`)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, default_collate

from common.throughput import ThroughputProbe, probe_from_module, register_throughput
from contact.config import ContactDataConfig, ContactModelConfig
from contact.model import CRRNet, crr_loss
from contact.synthetic import HOIClipGenerator
from contact.task import ClipDataset


@register_throughput("contact")
def throughput(device: torch.device, tiny: bool) -> ThroughputProbe:
    """CRRNet (k=7, T=7, GRU) training step on synthetic clips; loader = ClipDataset over generated clips."""
    dcfg = ContactDataConfig()
    batch_size = 2 if tiny else 32
    generator = HOIClipGenerator(dcfg)
    clips = [generator.clip(i) for i in range(batch_size)]
    dataset = ClipDataset(clips, dcfg.frames)
    batch = {k: v.to(device) for k, v in default_collate([dataset[i] for i in range(batch_size)]).items()}
    model = CRRNet(ContactModelConfig()).to(device)

    def loss() -> torch.Tensor:
        return crr_loss(model(batch["images"], batch["object_points"], batch["K"]), batch["labels"])

    def batches() -> Iterator[dict]:
        while True:
            yield from DataLoader(dataset, batch_size=batch_size, shuffle=True)

    return probe_from_module(f"CRRNet, batch {batch_size} clips x T={dcfg.frames}, {dcfg.image_size}px, "
                             f"{dcfg.num_points} points", model, loss, batch_size, batches, batch_size, "clips",
                             batches_note="clips generated beforehand, as training does")
