"""TigerNet as a model folder: a committed folder keeps loading and predicting the same (format compatibility),
and weight-only checkpoints of older runs still load through the run's model config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from common.models import load_model_folder
from tiger.api import load_tiger
from tiger.config import TigerDataConfig
from tiger.model.network import TigerNet
from tiger.task import TigerTask

DATA = Path(__file__).parent / "data"


def _outputs(model: torch.nn.Module) -> tuple[np.ndarray, np.ndarray]:
    ref = np.load(DATA / "tigernet_tiny_reference.npz")
    with torch.no_grad():
        out = model.eval()(*(torch.from_numpy(ref[k]) for k in ("image", "K", "prior", "root_depth")))
    return out.object_points.numpy(), out.hand_joints.numpy()


def test_committed_folder_loads_and_predicts_as_when_saved() -> None:
    model = load_model_folder(DATA / "tigernet_tiny")
    assert isinstance(model, TigerNet)
    ref = np.load(DATA / "tigernet_tiny_reference.npz")
    points, joints = _outputs(model)
    np.testing.assert_allclose(points, ref["object_points"], atol=1e-5)
    np.testing.assert_allclose(joints, ref["hand_joints"], atol=1e-5)


def test_weight_only_checkpoint_loads_through_the_model_config(tmp_path: Path) -> None:
    model = load_model_folder(DATA / "tigernet_tiny")
    (tmp_path / "final").mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "final" / "model.safetensors")
    task = TigerTask(model.cfg, TigerDataConfig(), tmp_path)
    legacy = load_tiger(tmp_path / "final", task)
    for a, b in zip(_outputs(model), _outputs(legacy)):
        np.testing.assert_array_equal(a, b)
