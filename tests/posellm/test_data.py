"""COCO, Human-Art and MPII loaders on fixtures written in the datasets' on-disk layouts; COCO scoring."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
import torch

from common.data.base import read_rgb
from posellm.data import coco_paths, humanart_paths, load_coco_instances, load_mpii_instances, mpii_paths
from posellm.inference import Predictions, coco_ap, mpii_scores
from posellm.keypoints import COCO_KEYPOINTS, MPII_KEYPOINTS


def _write_image(path: Path, hw: tuple[int, int] = (120, 160)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((*hw, 3), np.uint8)
    image[:, :, 2] = 200                                          # pure red in RGB (OpenCV writes BGR)
    cv2.imwrite(str(path), image)


def _coco_json(file_names: list[str]) -> dict:
    rng = np.random.default_rng(0)
    anns = []
    for i, (crowd, nk) in enumerate([(0, 17), (1, 17), (0, 0), (0, 9)]):
        kpts = np.zeros((17, 3))
        kpts[:nk, 0], kpts[:nk, 1], kpts[:nk, 2] = rng.uniform(40, 90, nk), rng.uniform(20, 100, nk), 2
        anns.append({"id": 10 + i, "image_id": 1 + i % 2, "category_id": 1, "iscrowd": crowd,
                     "bbox": [30.0, 15.0, 70.0, 90.0], "area": 4000.0, "num_keypoints": nk,
                     "keypoints": kpts.reshape(-1).tolist()})
    return {"images": [{"id": i + 1, "file_name": f, "width": 160, "height": 120} for i, f in enumerate(file_names)],
            "annotations": anns, "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_KEYPOINTS)}]}


def _write_coco_split(root: Path, split: str) -> tuple[Path, Path]:
    """Two images and their keypoint json in COCO's official layout; returns (annotation file, image dir)."""
    names = ["000000000139.jpg", "000000000785.jpg"]
    for n in names:
        _write_image(root / split / n)
    ann_file, image_dir = coco_paths(root, split)
    ann_file.parent.mkdir(parents=True)
    ann_file.write_text(json.dumps(_coco_json(names)))
    return ann_file, image_dir


def test_coco_layout_and_gt_keypoints_score_ap_one(tmp_path: Path) -> None:
    ann_file, image_dir = _write_coco_split(tmp_path / "coco", "val2017")
    instances, gt = load_coco_instances(ann_file, image_dir)
    assert [i.extra["ann_id"] for i in instances] == [10, 13]      # crowd and unlabelled persons dropped
    assert instances[0].image_path == tmp_path / "coco" / "val2017" / "000000000139.jpg"
    assert np.allclose(instances[0].center, [65.0, 60.0]) and instances[0].size == pytest.approx(90.0)
    assert read_rgb(instances[0].image_path)[0, 0].tolist() == [200, 0, 0]
    exact = Predictions(np.stack([i.keypoints[:, :2] for i in instances]), np.ones((2, 17)),
                        np.ones((2, 17), bool), [])
    stats = coco_ap(instances, gt, exact)
    assert stats["AP"] == pytest.approx(1.0) and stats["unparsed_rate"] == 0.0
    shifted = Predictions(exact.keypoints + 25.0, exact.confidence, exact.parsed, [])
    assert coco_ap(instances, gt, shifted)["AP"] < 0.2


def test_humanart_layout(tmp_path: Path) -> None:
    """Official layout: file_name starts with HumanArt/images/... relative to the folder containing HumanArt/."""
    root = tmp_path / "HumanArt"
    name = "HumanArt/images/2D_virtual_human/cartoon/000000000001.jpg"
    _write_image(tmp_path / name)
    ann_file, image_root = humanart_paths(root)
    ann_file.parent.mkdir(parents=True)
    ann_file.write_text(json.dumps(_coco_json([name, name])))
    instances, _ = load_coco_instances(ann_file, image_root, "Human-Art")
    assert instances[0].image_path == tmp_path / name and instances[0].image_path.is_file()
    assert instances[0].names == COCO_KEYPOINTS


def test_non_finite_and_empty_annotations_name_the_file(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    (root / "val2017").mkdir(parents=True)
    ann_file, image_dir = coco_paths(root, "val2017")
    ann_file.parent.mkdir(parents=True)
    gt = _coco_json(["a.jpg", "b.jpg"])
    gt["annotations"][3]["keypoints"][4] = float("nan")
    ann_file.write_text(json.dumps(gt))                          # json writes NaN, as a buggy converter would
    with pytest.raises(ValueError, match=r"person_keypoints_val2017\.json: annotation id 13 .*non-finite"):
        load_coco_instances(ann_file, image_dir)
    ann_file.write_text(json.dumps({**gt, "annotations": []}))
    with pytest.raises(ValueError, match=r"person_keypoints_val2017\.json: no usable person annotation"):
        load_coco_instances(ann_file, image_dir)
    ann_file.write_text("")
    with pytest.raises(ValueError, match=r"person_keypoints_val2017\.json: not a COCO keypoint annotation"):
        load_coco_instances(ann_file, image_dir)


def test_training_set_reads_images_on_demand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No image is decoded when the dataset is built; each item decodes exactly its own image."""
    import posellm.data as data
    from posellm.config import PoseLLMDataConfig
    from posellm.text import PromptCodec, build_tiny_tokenizer

    ann_file, image_dir = _write_coco_split(tmp_path / "coco", "train2017")
    reads: list[Path] = []
    monkeypatch.setattr(data, "read_rgb", lambda path: reads.append(Path(path)) or read_rgb(path))
    instances, _ = load_coco_instances(ann_file, image_dir)
    cfg = PoseLLMDataConfig(source="coco", root=str(tmp_path / "coco"), image_size=32)
    train_set = data.KeypointTrainSet(instances, PromptCodec(build_tiny_tokenizer()), cfg, [0.5] * 3, [0.5] * 3)
    assert reads == [] and not any(isinstance(v, np.ndarray) and v.ndim >= 3 for v in vars(train_set).values())
    item = train_set[1]
    assert reads == [instances[1].image_path] and item["pixel_values"].shape == (3, 32, 32)
    first, again = train_set[0], train_set[0]
    assert torch.equal(first["input_ids"], again["input_ids"])          # per-(epoch, index) randomness
    train_set.set_epoch(1)
    assert len(reads) == 3


def test_missing_layout_names_expected_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"(?s)person_keypoints_val2017\.json.*docs/posellm\.md"):
        load_coco_instances(*coco_paths(tmp_path / "nowhere", "val2017"))
    with pytest.raises(FileNotFoundError, match="MPII"):
        load_mpii_instances(tmp_path / "nowhere")


def test_mpii_hrnet_json_and_head_boxes(tmp_path: Path) -> None:
    root = tmp_path / "mpii"
    ann_file, mat_file, image_dir = mpii_paths(root)
    _write_image(image_dir / "015601864.jpg", (480, 640))
    joints = np.random.default_rng(1).uniform(200, 400, (2, 16, 2))
    entries = [{"image": "015601864.jpg", "center": [300.0, 250.0], "scale": 1.5,
                "joints": (joints[i] + 1).tolist(), "joints_vis": [1] * 15 + [0]} for i in range(2)]
    ann_file.parent.mkdir(parents=True)
    ann_file.write_text(json.dumps(entries))
    heads = np.array([[[100.0, 110.0], [50.0, 60.0]], [[130.0, 150.0], [90.0, 100.0]]])   # (2, 2, N)
    scipy.io.savemat(str(mat_file), {"headboxes_src": heads, "pos_gt_src": joints.transpose(1, 2, 0),
                                     "jnt_missing": np.zeros((16, 2))})
    instances = load_mpii_instances(root)
    assert len(instances) == 2 and instances[0].names == MPII_KEYPOINTS
    assert np.allclose(instances[0].center, [299.0, 249.0 + 15 * 1.5])
    assert instances[0].size == pytest.approx(1.5 * 1.25 * 200)
    assert instances[0].head_size == pytest.approx(np.hypot(30.0, 40.0))
    assert np.allclose(instances[1].keypoints[:, :2], joints[1]) and instances[1].keypoints[15, 2] == 0
    gt = np.stack([i.keypoints[:, :2] for i in instances])
    off = gt.copy()
    head_sizes = np.array([i.head_size for i in instances])
    off[:, :, 0] += 0.5 * 0.6 * head_sizes[:, None] * np.where(np.arange(16) % 2, 0.9, 1.1)
    scores = mpii_scores(instances, Predictions(off, np.ones((2, 16)), np.ones((2, 16), bool), []))
    assert scores["PCKh_novel_pelvis"] == pytest.approx(0.0) and scores["PCKh_novel_thorax"] == 100.0
