"""COCO / Human-Art / MPII person instances, LocLLM crops with augmentation, and the training dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
import torch
from torch.utils.data import Dataset

from common.data.base import read_rgb
from posellm.config import PoseLLMDataConfig
from posellm.crop import box_center_size, crop_matrix, image_to_crop, warp_image
from posellm.keypoints import COCO_FLIP_PAIRS, COCO_KEYPOINTS, MPII_KEYPOINTS
from posellm.text import IGNORE_INDEX, PromptCodec

DOCS = "docs/posellm.md"


@dataclass
class PersonInstance:
    """One annotated person: image path, crop centre/side (px) and keypoints (K, 3) = x, y px, visibility."""

    image_path: Path
    image_id: int
    center: np.ndarray
    size: float
    keypoints: np.ndarray
    names: tuple[str, ...]
    head_size: float = float("nan")              # MPII head-box diagonal (px), for PCKh
    extra: dict = field(default_factory=dict)


def _require(paths: list[Path], dataset: str) -> None:
    """Raise a FileNotFoundError listing the expected layout and the first missing path."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        expected = "\n  ".join(str(p) for p in paths)
        raise FileNotFoundError(f"{dataset} layout not found: missing {missing[0]}.\n"
                                f"Expected:\n  {expected}\nSee the '{dataset}' data section of {DOCS}.")


def coco_paths(root: str | Path, split: str) -> tuple[Path, Path]:
    """COCO layout: (root/annotations/person_keypoints_<split>.json, root/<split>/)."""
    root = Path(root)
    return root / "annotations" / f"person_keypoints_{split}.json", root / split


def humanart_paths(root: str | Path, split: str = "validation") -> tuple[Path, Path]:
    """Human-Art layout: (root/annotations/<split>_humanart.json, root's parent).

    `root` is the HumanArt/ folder; its `file_name`s already start with `HumanArt/images/...`, so images
    resolve against the folder that contains HumanArt/.
    """
    root = Path(root)
    return root / "annotations" / f"{split}_humanart.json", root.parent


def load_coco_instances(ann_file: Path, image_root: Path, dataset: str = "COCO",
                        min_keypoints: int = 1) -> tuple[list[PersonInstance], dict]:
    """Non-crowd persons with >= `min_keypoints` labelled keypoints and a positive box; also the raw json."""
    _require([ann_file, image_root], dataset)
    try:
        gt = json.loads(Path(ann_file).read_text())
        files = {img["id"]: img["file_name"] for img in gt["images"]}
        annotations = gt["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{ann_file}: not a COCO keypoint annotation file ({err!r}); expected 'images' and "
                         f"'annotations' lists as in person_keypoints_val2017.json. See {DOCS}") from err
    instances = []
    for ann in annotations:
        kpts = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)[:len(COCO_KEYPOINTS)]
        if not np.isfinite(kpts).all() or not np.isfinite(ann["bbox"]).all():
            raise ValueError(f"{ann_file}: annotation id {ann.get('id')} (image {ann.get('image_id')}) has non-finite "
                             "'keypoints' or 'bbox' values; fix or drop that annotation")
        x, y, w, h = ann["bbox"]
        if ann.get("iscrowd", 0) or int((kpts[:, 2] > 0).sum()) < min_keypoints or w <= 0 or h <= 0:
            continue
        center, size = box_center_size(np.array([x, y, w, h]))
        instances.append(PersonInstance(image_root / files[ann["image_id"]], ann["image_id"], center, size,
                                        kpts, COCO_KEYPOINTS, extra={"ann_id": ann["id"]}))
    if not instances:
        raise ValueError(f"{ann_file}: no usable person annotation (non-crowd, >= {min_keypoints} labelled keypoint, "
                         f"positive box) among {len(annotations)} annotations; check that it is the {dataset} "
                         "person-keypoint file")
    return instances, gt


def mpii_paths(root: str | Path, split: str = "valid") -> tuple[Path, Path, Path]:
    """MPII (HRNet json conversion) layout: (annot/<split>.json, annot/gt_<split>.mat, images/)."""
    root = Path(root)
    return root / "annot" / f"{split}.json", root / "annot" / f"gt_{split}.mat", root / "images"


def load_mpii_instances(root: str | Path, split: str = "valid") -> list[PersonInstance]:
    """MPII persons with LocLLM's centre/scale (c_y += 15 s, s *= 1.25, side = 200 s) and head sizes."""
    ann_file, mat_file, image_root = mpii_paths(root, split)
    _require([ann_file, mat_file, image_root], "MPII")
    entries = json.loads(ann_file.read_text())
    mat = scipy.io.loadmat(str(mat_file))
    heads = np.asarray(mat["headboxes_src"], np.float64)           # (2, 2, N): [[x1, y1], [x2, y2]]
    head_sizes = np.linalg.norm(heads[1] - heads[0], axis=0)
    if len(head_sizes) != len(entries):
        raise ValueError(f"{mat_file} has {len(head_sizes)} head boxes but {ann_file} has {len(entries)} "
                         "persons; both must come from the same split")
    if not entries:
        raise ValueError(f"{ann_file}: no person entries; expected the HRNet MPII json conversion (list of persons)")
    instances = []
    for i, e in enumerate(entries):
        if not (np.isfinite(e["joints"]).all() and np.isfinite(e["center"]).all() and np.isfinite(e["scale"])):
            raise ValueError(f"{ann_file}: person {i} ({e.get('image')}) has non-finite joints/center/scale")
        scale = float(e["scale"])
        center = np.asarray(e["center"], np.float64) - 1.0              # 1-based Matlab -> 0-based
        center[1] += 15.0 * scale
        joints = np.asarray(e["joints"], np.float64) - 1.0
        vis = np.asarray(e["joints_vis"], np.float64)
        instances.append(PersonInstance(image_root / e["image"], i, center, scale * 1.25 * 200.0,
                                        np.concatenate([joints, vis[:, None]], 1), MPII_KEYPOINTS,
                                        head_size=float(head_sizes[i])))
    return instances


def crop_instance(inst: PersonInstance, out_size: int, image: np.ndarray | None = None,
                  scale: float = 1.0, rotation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(crop uint8 (S, S, 3), 2x3 image->crop affine) of one person."""
    matrix = crop_matrix(inst.center, inst.size * scale, out_size, rotation)
    return warp_image(read_rgb(inst.image_path) if image is None else image, matrix, out_size), matrix


class KeypointTrainSet(Dataset):
    """Augmented crops, each with up to `max_turns` visible keypoints (random order) as answer turns.

    Images are read from disk in `__getitem__` (in the data loader's workers), never held in memory; the
    augmentation draws from a generator seeded by (seed, epoch, index), so a resumed run replays it exactly.
    """

    def __init__(self, instances: list[PersonInstance], codec: PromptCodec, cfg: PoseLLMDataConfig,
                 mean: list[float], std: list[float], seed: int = 0) -> None:
        self.instances, self.codec, self.cfg = instances, codec, cfg
        self.mean, self.std = np.array(mean), np.array(std)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Epoch about to start (called by the trainer; workers get it with the pickled dataset)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.instances)

    def _augment(self, inst: PersonInstance, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Crop with scale/rotation/flip augmentation -> (crop, keypoints (K,3) in crop px)."""
        c = self.cfg
        scale = float(np.clip(rng.normal() * c.scale_factor + 1, 1 - c.scale_factor, 1 + c.scale_factor))
        rot = float(np.clip(rng.normal() * c.rotation_factor, -2 * c.rotation_factor, 2 * c.rotation_factor))
        rot = rot if rng.random() < 0.5 else 0.0
        crop, matrix = crop_instance(inst, c.image_size, scale=scale, rotation=rot)
        kpts = inst.keypoints.copy()
        kpts[:, :2] = image_to_crop(kpts[:, :2], matrix)
        if c.flip and rng.random() < 0.5:
            crop = crop[:, ::-1].copy()
            kpts[:, 0] = c.image_size - 1 - kpts[:, 0]
            for i, j in COCO_FLIP_PAIRS:
                kpts[[i, j]] = kpts[[j, i]]
        return crop, kpts

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        inst = self.instances[index]
        crop, kpts = self._augment(inst, rng)
        size = self.cfg.image_size
        inside = (kpts[:, 2] > 0) & (kpts[:, 0] >= 0) & (kpts[:, 0] < size) & (kpts[:, 1] >= 0) & (
            kpts[:, 1] < size)
        chosen = rng.permutation(np.flatnonzero(inside))[:self.cfg.max_turns]
        if chosen.size == 0:                                   # augmentation pushed every keypoint out
            crop, matrix = crop_instance(inst, size)
            kpts = inst.keypoints.copy()
            kpts[:, :2] = image_to_crop(kpts[:, :2], matrix)
            chosen = rng.permutation(np.flatnonzero(kpts[:, 2] > 0))[:self.cfg.max_turns]
        ids, labels = self.codec.conversation([inst.names[k] for k in chosen], kpts[chosen, :2] / size)
        pixels = (crop.astype(np.float32) / 255.0 - self.mean) / self.std
        return {"pixel_values": torch.from_numpy(pixels.transpose(2, 0, 1)).float(),
                "input_ids": torch.tensor(ids), "labels": torch.tensor(labels)}


def collate_train(items: list[dict[str, torch.Tensor]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad token sequences; attention mask marks real tokens."""
    length = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    labels = torch.full((len(items), length), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(items), length), dtype=torch.long)
    for b, it in enumerate(items):
        n = len(it["input_ids"])
        ids[b, :n], labels[b, :n], mask[b, :n] = it["input_ids"], it["labels"], 1
    return {"pixel_values": torch.stack([it["pixel_values"] for it in items]), "input_ids": ids,
            "attention_mask": mask, "labels": labels}
