"""Real-format fixture data in the official on-disk layouts (COCO 2017 keypoints, Human-Art, MPII HRNet json).

Written from the formats' documentation: COCO `person_keypoints_<split>.json` (images / annotations with 17 x
(x, y, v) keypoints, bbox xywh, area, iscrowd, num_keypoints / categories with keypoint names and skeleton);
Human-Art `HumanArt/annotations/validation_humanart.json` whose file_names start with `HumanArt/images/`;
MPII `annot/valid.json` (1-based centre, scale = box height / 200, joints, joints_vis) + `annot/gt_valid.mat`
(`headboxes_src` (2, 2, N), `pos_gt_src`, `jnt_missing`) + `images/`.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from posellm.keypoints import COCO_KEYPOINTS

SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10],
            [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]


def _person(rng: np.random.Generator, w: int, h: int) -> tuple[list[float], list[float]]:
    """A box and 17 keypoints (x, y, v) inside it; a few keypoints unlabelled (v = 0, x = y = 0)."""
    bw, bh = rng.uniform(0.3, 0.5) * w, rng.uniform(0.5, 0.8) * h
    x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
    kpts = np.zeros((17, 3))
    kpts[:, 0] = x0 + np.linspace(0.3, 0.7, 17) * bw
    kpts[:, 1] = y0 + np.linspace(0.05, 0.95, 17) * bh
    kpts[:, 2] = rng.choice([1, 2], 17)
    kpts[rng.choice(17, 3, replace=False)] = 0
    return [float(x0), float(y0), float(bw), float(bh)], kpts.reshape(-1).tolist()


def _image(path: Path, rng: np.random.Generator, w: int, h: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def coco_json(file_names: list[str], rng: np.random.Generator, w: int = 96, h: int = 80,
              persons_per_image: int = 2, first_id: int = 1) -> dict:
    """A person-keypoints json in COCO 2017's schema for the given image file names."""
    images, anns = [], []
    for i, name in enumerate(file_names):
        image_id = first_id + i
        images.append({"id": image_id, "file_name": name, "width": w, "height": h, "license": 1,
                       "coco_url": "", "date_captured": "", "flickr_url": ""})
        for _ in range(persons_per_image):
            bbox, kpts = _person(rng, w, h)
            anns.append({"id": 1000 + len(anns), "image_id": image_id, "category_id": 1, "iscrowd": 0,
                         "bbox": bbox, "area": bbox[2] * bbox[3], "segmentation": [],
                         "num_keypoints": int(sum(v > 0 for v in kpts[2::3])), "keypoints": kpts})
    return {"info": {"description": "fixture"}, "licenses": [], "images": images, "annotations": anns,
            "categories": [{"supercategory": "person", "id": 1, "name": "person",
                            "keypoints": list(COCO_KEYPOINTS), "skeleton": SKELETON}]}


def write_coco(root: Path, n_train: int = 6, n_val: int = 3, seed: int = 0, width: int = 96,
               height: int = 80) -> Path:
    """root/annotations/person_keypoints_{train,val}2017.json and root/{train,val}2017/<12-digit id>.jpg."""
    rng = np.random.default_rng(seed)
    for split, n, first in (("train2017", n_train, 1), ("val2017", n_val, 500)):
        names = [f"{first + i:012d}.jpg" for i in range(n)]
        for name in names:
            _image(root / split / name, rng, width, height)
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"person_keypoints_{split}.json").write_text(
            json.dumps(coco_json(names, rng, width, height, first_id=first)))
    return root


def write_humanart(parent: Path, n: int = 2, seed: int = 1) -> Path:
    """parent/HumanArt/annotations/validation_humanart.json; file_names 'HumanArt/images/<scene>/<id>.jpg'."""
    rng = np.random.default_rng(seed)
    names = [f"HumanArt/images/2D_virtual_human/cartoon/{i:012d}.jpg" for i in range(n)]
    for name in names:
        _image(parent / name, rng, 96, 80)
    root = parent / "HumanArt"
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "validation_humanart.json").write_text(json.dumps(coco_json(names, rng)))
    return root


def write_mpii(root: Path, n: int = 3, seed: int = 2) -> Path:
    """root/annot/valid.json + root/annot/gt_valid.mat + root/images/<9-digit>.jpg (HRNet's conversion)."""
    rng = np.random.default_rng(seed)
    entries, heads, joints_all = [], [], []
    for i in range(n):
        name = f"{15601864 + i:09d}.jpg"
        _image(root / "images" / name, rng, 128, 96)
        joints = np.stack([rng.uniform(40, 90, 16), rng.uniform(20, 80, 16)], 1)
        entries.append({"image": name, "center": [65.0 + 1, 50.0 + 1], "scale": 0.35,
                        "joints": (joints + 1).tolist(), "joints_vis": [1] * 16})
        heads.append([[60.0, 20.0], [72.0, 34.0]])
        joints_all.append(joints)
    (root / "annot").mkdir(parents=True, exist_ok=True)
    (root / "annot" / "valid.json").write_text(json.dumps(entries))
    scipy.io.savemat(str(root / "annot" / "gt_valid.mat"),
                     {"headboxes_src": np.array(heads).transpose(1, 2, 0),
                      "pos_gt_src": np.array(joints_all).transpose(1, 2, 0), "jnt_missing": np.zeros((16, n))})
    return root
