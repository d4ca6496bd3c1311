"""CRRNet / PiCR-style model folders: save_pretrained / from_pretrained round trip and committed tiny folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from common.models import load_model_folder
from contact.api import load_checkpoint
from contact.config import ContactModelConfig
from contact.model import CRRNet

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", ["crrnet_tiny", "picr_tiny"])
def test_committed_folder_loads_and_gives_the_recorded_logits(name: str) -> None:
    """Backward compatibility: folders written by an earlier version reload strictly and compute the same."""
    model = load_model_folder(FIXTURES / name)
    assert isinstance(model, CRRNet) and model.cfg.img_channels == 4
    io = np.load(FIXTURES / f"{name}_io.npz")
    with torch.no_grad():
        logits = model.eval()(*(torch.as_tensor(io[k]) for k in ("images", "points", "K")))
    np.testing.assert_allclose(logits.numpy(), io["logits"], atol=1e-5)
    assert CRRNet.from_pretrained(FIXTURES / name).cfg == model.cfg


def test_round_trip_and_evaluate_ckpt_from_folder(tmp_path: Path) -> None:
    cfg = ContactModelConfig(img_channels=4, hourglass_stacks=1, hourglass_depth=1, point_hidden=8, gru_hidden=8)
    model = CRRNet(cfg)
    model.save_pretrained(tmp_path / "folder")
    assert (tmp_path / "folder" / "config.json").is_file()
    other = ContactModelConfig()                                   # cfg.model is ignored for a folder
    loaded = load_checkpoint(OmegaConf.create({"ckpt": str(tmp_path / "folder")}), other)
    assert loaded.cfg == cfg
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
