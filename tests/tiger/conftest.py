"""Shared fixtures of the TIGeR tests: one thread, and a tiny synthetic DexYCB-like set written once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 subjects x 10 sequences x 1 camera x 2 frames of 72x96 (s0: 48 train frames, 4 test frames)."""
    from tiger.data.synthetic import SceneSpec, ensure_synthetic_dexycb

    root = tmp_path_factory.mktemp("tiger_synthetic")
    spec = SceneSpec(num_subjects=3, sequences_per_subject=10, cameras=1, frames_per_sequence=2,
                     image_hw=[72, 96], focal=120.0, seed=3)
    return ensure_synthetic_dexycb(root, spec)
