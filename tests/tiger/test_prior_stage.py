"""The generated prior as an offline stage: make_priors writes a versioned cache that training reads; no
captioner ever runs in training or in a DataLoader worker; the real loaders run on tiny real-class folders."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from torch.utils.data import DataLoader

from tiger.config import PriorConfig, TigerDataConfig, TigerModelConfig
from tiger.prior import GeneratedPriorCache
from tiger.prior.generated import (
    DepthLiftToPoints,
    DiffusersTextToImage,
    InstructBlipCaptioner,
    OracleCaptioner,
    PointEImageToPoints,
    ProceduralRenderer,
)
from tiger.task import TigerTask

from .generative_fixtures import write_tiny_flux, write_tiny_instructblip

VOCAB = ["box", "cylinder", "can", "bottle", "sphere", "mug"]
ORACLE = PriorConfig(source="generated", num_points=64, captioner="oracle", text_to_image="procedural",
                     image_to_points="depth_lift", icp_starts=1, icp_iterations=5)


class CountingOracle(OracleCaptioner):
    """Oracle captioner that logs the process id of every call to a file (so calls in workers would show)."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __call__(self, image: np.ndarray | None, hint: str) -> str:
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return super().__call__(image, hint)


def _task(root: Path, cache: Path, prior: PriorConfig = ORACLE) -> TigerTask:
    data = TigerDataConfig(root=str(root), gt_points=64, eval_num_samples=100)
    model = TigerModelConfig(prior=replace(prior, cache_dir=str(cache)), input_size=32)
    return TigerTask(model, data, cache)


def test_training_without_the_cache_fails_clearly(tiny_synthetic_root: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"scripts/make_priors\.py"):
        _task(tiny_synthetic_root, tmp_path).check_inputs()


def test_captioning_runs_once_per_image_and_never_in_dataloader_workers(tiny_synthetic_root: Path,
                                                                         tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    task = _task(tiny_synthetic_root, tmp_path)
    folder = task.make_priors((CountingOracle(log), ProceduralRenderer(VOCAB), DepthLiftToPoints()))
    manifest = json.loads((folder / "manifest.json").read_text())
    train_set, test_set = task.datasets()
    images = len(train_set) + len(test_set)
    assert len(manifest["captions"]) == images == 52
    assert log.read_text().split() == [str(os.getpid())] * images
    prior = train_set.prior
    assert isinstance(prior, GeneratedPriorCache) and not hasattr(prior, "captioner")
    loader = DataLoader(train_set, batch_size=8, num_workers=2, shuffle=True)
    for _ in range(2):
        for batch in loader:
            assert batch["prior"].shape[1:] == (64, 3)
    assert len(log.read_text().split()) == images                     # no call during two epochs
    item = test_set[0]
    category = manifest["categories"][f"test/{test_set.frame(0)['sample_id']}"]
    np.testing.assert_array_equal(item["prior"].numpy(), np.load(folder / manifest["points"][category])["points"])
    assert (folder / "images" / f"{category}.png").is_file()


def test_cache_key_changes_with_what_determines_it(tiny_synthetic_root: Path, tmp_path: Path) -> None:
    from tiger.prior.offline import cache_folder

    data = TigerDataConfig(root=str(tiny_synthetic_root))
    base = replace(ORACLE, cache_dir=str(tmp_path))
    folders = {cache_folder(p, data) for p in (base, replace(base, num_points=128), replace(base, caption_per="object"),
                                               replace(base, text_to_image_steps=8))}
    assert len(folders) == 4
    assert cache_folder(base, replace(data, eval_split="val")) != cache_folder(base, data)


def test_instructblip_and_flux_loaders_run_tiny_real_class_folders(tiny_synthetic_root: Path, tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    captioner = InstructBlipCaptioner(write_tiny_instructblip(tmp_path / "instructblip"), num_beams=2)
    caption = captioner(np.zeros((40, 40, 3), np.uint8), "ignored")
    assert isinstance(caption, str)                                   # random weights: any text, maybe empty
    flux = DiffusersTextToImage(write_tiny_flux(tmp_path / "flux"), steps=2, size=32)
    image = flux("A mug in a clean surface")
    assert image.rgb.shape == (32, 32, 3) and image.rgb.dtype == np.uint8
    prior = replace(ORACLE, captioner="instructblip", captioner_weights=str(tmp_path / "instructblip"))
    task = _task(tiny_synthetic_root, tmp_path / "cache", prior)
    task.data_cfg = replace(task.data_cfg, max_samples=2)
    folder = task.make_priors((captioner, ProceduralRenderer(VOCAB), DepthLiftToPoints()))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert len(manifest["captions"]) == 4 and set(manifest["categories"].values()) <= set(VOCAB)
    train_set, _ = task.datasets()
    assert train_set[0]["prior"].shape == (64, 3)


def test_point_e_loader_needs_its_checkpoints_and_clip_folder(tmp_path: Path) -> None:
    """point-e is not on PyPI (installed from its repository): only the path checks and the clear import
    error are exercised here; the CLIP folder is passed to the models as `cache_dir`."""
    with pytest.raises(FileNotFoundError, match="image_to_points_weights"):
        PointEImageToPoints(tmp_path, tmp_path)
    for name in ("base_40m.pt", "upsample_40m.pt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="point_e_clip_dir"):
        PointEImageToPoints(tmp_path, None)
    (tmp_path / "ViT-L-14.pt").write_bytes(b"")
    try:
        import point_e  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="point-e"):
            PointEImageToPoints(tmp_path, tmp_path)
