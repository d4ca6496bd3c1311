"""Synthetic people (stand-in SMPL) rendered and written as COCO keypoint json + images (and MPII json)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import scipy.io
import torch
from scipy.spatial.transform import Rotation

from common.body import SMPL_PART_NAMES, load_smpl, smpl_part_labels
from common.cache import cached_dir
from common.data.render import render_mesh
from posellm.keypoints import COCO_KEYPOINTS, COCO_SKELETON, MPII_KEYPOINTS

log = logging.getLogger(__name__)

_FACE_VERTICES = {"nose": 332, "left_eye": 2800, "right_eye": 6260, "left_ear": 583, "right_ear": 4071}
_HEAD_TOP_VERTEX = 411
_SMPL_JOINTS = {"pelvis_root": 0, "left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5,
                "left_ankle": 7, "right_ankle": 8, "neck": 12, "left_shoulder": 16, "right_shoulder": 17,
                "left_elbow": 18, "right_elbow": 19, "left_wrist": 20, "right_wrist": 21}
# (SMPL joint, axis, low, high) in radians, axis-angle components of body_pose; left = +x side of the body.
_POSE_RANGES = (
    (1, 0, -0.9, 0.3), (2, 0, -0.9, 0.3), (1, 2, -0.1, 0.4), (2, 2, -0.4, 0.1), (4, 0, 0.0, 1.4),
    (5, 0, 0.0, 1.4), (3, 0, -0.2, 0.2), (6, 1, -0.2, 0.2), (9, 2, -0.15, 0.15), (12, 0, -0.3, 0.3),
    (15, 1, -0.5, 0.5), (16, 2, -1.3, 0.5), (17, 2, -0.5, 1.3), (16, 1, -0.8, 0.8), (17, 1, -0.8, 0.8),
    (18, 1, -2.0, 0.0), (19, 1, 0.0, 2.0))
# One saturated colour per SMPL part (left limbs warm, right limbs cool) on a dark, grey background, so the
# part around each keypoint is visible to a tiny random-init ViT at 32 px.
_PART_COLOURS = {"head": (255, 255, 255), "torso": (150, 150, 150),
                 "left_upperarm": (255, 0, 0), "left_midarm": (255, 140, 0), "left_forearm": (255, 255, 0),
                 "right_upperarm": (0, 0, 255), "right_midarm": (0, 150, 255), "right_forearm": (0, 255, 255),
                 "upper_left_leg": (255, 0, 255), "left_leg": (160, 0, 255), "left_foot": (255, 150, 200),
                 "upper_right_leg": (0, 255, 0), "right_leg": (0, 150, 60), "right_foot": (150, 255, 150)}
COCO_TO_MPII_SOURCES = {"pelvis": ("left_hip", "right_hip"), "thorax": ("left_shoulder", "right_shoulder")}


def part_colours() -> np.ndarray:
    """(14, 3) uint8 colour per SMPL part, in SMPL_PART_NAMES order."""
    return np.array([_PART_COLOURS[name] for name in SMPL_PART_NAMES], np.uint8)


def random_pose(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(global_orient (3,), body_pose (69,), betas (10,)): facing the camera within +-35 deg of yaw."""
    body = np.zeros((24, 3))
    for joint, axis, low, high in _POSE_RANGES:
        body[joint, axis] = rng.uniform(low, high)
    yaw, tilt = rng.uniform(-0.6, 0.6), rng.uniform(-0.15, 0.15)
    orient = Rotation.from_rotvec([np.pi, 0, 0]) * Rotation.from_euler("yz", [yaw, tilt])
    return orient.as_rotvec(), body[1:].reshape(-1), rng.normal(0.0, 0.8, 10)


class PersonRenderer:
    """Renders one stand-in SMPL person and returns named 2D keypoints, box, area and head box (px)."""

    def __init__(self, size: int) -> None:
        self.smpl = load_smpl()
        self.faces = np.asarray(self.smpl.faces, np.int64)
        labels = smpl_part_labels(None)
        self.colours = part_colours()[labels]
        self.head_vertices = np.flatnonzero(labels == SMPL_PART_NAMES.index("head"))
        self.size = size

    def __call__(self, rng: np.random.Generator) -> dict:
        orient, body, betas = random_pose(rng)
        with torch.no_grad():
            out = self.smpl(global_orient=torch.tensor(orient[None], dtype=torch.float32),
                            body_pose=torch.tensor(body[None], dtype=torch.float32),
                            betas=torch.tensor(betas[None], dtype=torch.float32))
        verts, joints = out.vertices[0].numpy().astype(np.float64), out.joints[0].numpy().astype(np.float64)
        shift = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(2.6, 3.6)])
        verts, joints = verts - joints[0] + shift, joints - joints[0] + shift
        f = self.size * 1.5
        K = np.array([[f, 0, (self.size - 1) / 2], [0, f, (self.size - 1) / 2], [0, 0, 1.0]])
        background = np.clip(rng.uniform(0, 60) + rng.normal(0, 6, (self.size, self.size, 3)), 0, 255)
        rgb, depth, mask = render_mesh(verts, self.faces, K, (self.size, self.size), self.colours,
                                       background=background.astype(np.uint8))
        points3d = {n: joints[j] for n, j in _SMPL_JOINTS.items()}
        points3d.update({n: verts[v] for n, v in _FACE_VERTICES.items()})
        points3d["head_top"] = verts[_HEAD_TOP_VERTEX]
        surface = set(_FACE_VERTICES) | {"head_top"}
        kpts = {}
        for name, p in points3d.items():
            uv = K[:2] @ (p / p[2])
            u, v = round(uv[0]), round(uv[1])
            inside = 0 <= u < self.size and 0 <= v < self.size
            occluded = inside and mask[v, u] and depth[v, u] < p[2] - (0.03 if name in surface else 0.15)
            kpts[name] = (uv[0], uv[1], 0 if not inside else (1 if occluded else 2))
        ys, xs = np.nonzero(mask)
        head = verts[self.head_vertices] @ K.T
        head = head[:, :2] / head[:, 2:]
        return {"image": rgb, "keypoints": kpts, "area": float(mask.sum()),
                "bbox": [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                         float(ys.max() - ys.min() + 1)],
                "head_box": [head.min(0).tolist(), head.max(0).tolist()]}


def _coco_annotation(person: dict, ann_id: int) -> dict:
    kpts = [person["keypoints"][n] for n in COCO_KEYPOINTS]
    flat = [float(v) if i % 3 < 2 else int(v) for k in kpts for i, v in enumerate(k)]
    flat = [0.0 if kpts[i // 3][2] == 0 and i % 3 < 2 else v for i, v in enumerate(flat)]
    return {"id": ann_id, "image_id": ann_id, "category_id": 1, "iscrowd": 0, "bbox": person["bbox"],
            "area": person["area"], "num_keypoints": sum(k[2] > 0 for k in kpts), "keypoints": flat}


def _mpii_entry(person: dict, file_name: str) -> tuple[dict, np.ndarray]:
    """HRNet-style MPII json entry (1-based, LocLLM centre/scale convention) and (16, 3) joints."""
    k = person["keypoints"]
    k = {**k, "pelvis": tuple((np.array(k["left_hip"]) + np.array(k["right_hip"])) / 2),
         "thorax": tuple((np.array(k["left_shoulder"]) + np.array(k["right_shoulder"])) / 2)}
    joints = np.array([[k[n][0], k[n][1], float(min(k[n][2], 1) > 0)] for n in MPII_KEYPOINTS])
    x, y, w, h = person["bbox"]
    scale = max(w, h) / (200.0 * 1.25)
    center = [x + w / 2 + 1.0, y + h / 2 + 1.0 - 15.0 * scale]
    entry = {"image": file_name, "center": center, "scale": scale,
             "joints": (joints[:, :2] + 1.0).tolist(), "joints_vis": joints[:, 2].astype(int).tolist()}
    return entry, joints


def write_split(root: Path, split: str, count: int, size: int, seed: int, with_mpii: bool) -> None:
    """Render `count` single-person images into root/<split>/ + root/annotations (COCO) [+ root/mpii]."""
    renderer = PersonRenderer(size)
    rng = np.random.default_rng(seed)
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    images, anns, mpii, heads, pos, missing = [], [], [], [], [], []
    for i in range(count):
        person = renderer(rng)
        name = f"{i:06d}.png"
        cv2.imwrite(str(root / split / name), cv2.cvtColor(person["image"], cv2.COLOR_RGB2BGR))
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        anns.append(_coco_annotation(person, i + 1))
        if with_mpii:
            entry, joints = _mpii_entry(person, name)
            mpii.append(entry)
            heads.append(np.array(person["head_box"]))
            pos.append(joints[:, :2])
            missing.append(joints[:, 2] == 0)
    category = {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_KEYPOINTS),
                "skeleton": [[a + 1, b + 1] for a, b in COCO_SKELETON]}
    gt = {"info": {"description": "PoseLLM synthetic people (stand-in SMPL)"}, "images": images,
          "annotations": anns, "categories": [category]}
    (root / "annotations" / f"person_keypoints_{split}.json").write_text(json.dumps(gt))
    if with_mpii:
        annot = root / "mpii" / "annot"
        annot.mkdir(parents=True, exist_ok=True)
        images_dir = root / "mpii" / "images"
        if not images_dir.exists():
            images_dir.symlink_to(Path("..") / split, target_is_directory=True)
        (annot / f"{split}.json").write_text(json.dumps(mpii))
        scipy.io.savemat(str(annot / f"gt_{split}.mat"), {
            "headboxes_src": np.stack(heads, -1), "pos_gt_src": np.stack(pos, -1),
            "jnt_missing": np.stack(missing, -1).astype(np.uint8)})


def ensure_synthetic(root: Path, train: int, val: int, size: int, seed: int = 0) -> Path:
    """Write the synthetic COCO-format dataset at `root` once (marker file records its parameters; written into a
    temporary folder and renamed into place, so parallel runs sharing the cache never read a partial set)."""
    params = json.dumps({"train": train, "val": val, "size": size, "seed": seed, "body": "stand-in SMPL",
                         "colours": "one per part, dark background"})

    def write(folder: Path) -> None:
        log.info("writing synthetic PoseLLM data to %s (%d train, %d val, %d px)", root, train, val, size)
        write_split(folder, "train2017", train, size, seed, with_mpii=False)
        write_split(folder, "val2017", val, size, seed + 1, with_mpii=True)

    return cached_dir(root, write, "done.json", params)
