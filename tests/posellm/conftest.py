"""Shared fixtures: a small synthetic COCO-format dataset of stand-in SMPL people (rendered once)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from posellm.synthetic import ensure_synthetic

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)          # the CI box is shared: one intra-op thread avoids oversubscription


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rendered train/val splits written in the COCO (and MPII json) layouts."""
    return ensure_synthetic(tmp_path_factory.mktemp("posellm_synth"), train=96, val=12, size=64, seed=0)
