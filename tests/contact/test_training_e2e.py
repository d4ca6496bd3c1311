"""End to end: CRRNet trained for real on synthetic clips beats the class-prior baseline on held-out clips."""

from pathlib import Path

import numpy as np
import pytest
import torch

from common.training import Trainer, TrainerConfig
from contact.config import ContactDataConfig, ContactModelConfig
from contact.labels import NUM_CLASSES
from contact.synthetic import CLIP_FRAMES, generate_clips
from contact.task import ContactTask, centre_window


@pytest.mark.slow
def test_crrnet_beats_the_class_prior_on_held_out_clips(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = ContactDataConfig(frames=1, image_size=32, num_points=64, occlusion_prob=0.0, seed=5)
    train = generate_clips(data, 0, 24)
    held_out = generate_clips(data, 10_000, 8)
    model_cfg = ContactModelConfig(img_channels=8, point_hidden=32, gru_hidden=16, window=3)
    cfg = TrainerConfig(max_steps=90, batch_size=8, optimizer="adam", lr=3e-3, scheduler="constant",
                        progress_bar=False, log_every=1000, resume="none")
    trainer = Trainer(cfg, ContactTask(model_cfg, data, train, held_out), tmp_path / "run", seed=0)
    scores = trainer.fit()
    counts = np.bincount(np.concatenate([c["labels"].ravel() for c in train]), minlength=NUM_CLASSES) + 1.0
    log_prior = np.log(counts / counts.sum())
    window = centre_window(CLIP_FRAMES, data.frames)
    held_labels = np.stack([c["labels"] for c in held_out])[:, window]        # (clips, T, N) the model reads
    prior_loss = model_cfg.loss_weight * (-log_prior[held_labels]).sum(axis=2).mean()
    assert scores["l_crr"] < 0.95 * prior_loss, (scores["l_crr"], prior_loss)
    assert 0.0 <= scores["accuracy"] <= 1.0
