"""Model-input frames whose images are decoded from disk when a batch asks for them (memory flat in N)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from datasets import Dataset
from PIL import Image

from common.data import schema as S
from common.data.transforms import apply_affine, crop_affine_matrix


def model_input_affine(K: np.ndarray, hw: tuple[int, int], canonical_focal: float,
                       crop_size: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """(2x3 pixel affine, output (H,W)): rescale to the canonical focal (px), then the optional square crop."""
    s = canonical_focal / float(np.asarray(K, np.float64)[0, 0])
    rescale = np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5], [0.0, 0.0, 1.0]])
    out_hw = (max(1, round(hw[0] * s)), max(1, round(hw[1] * s)))
    if not crop_size:
        return rescale[:2], out_hw
    centre = (rescale @ np.asarray(K, np.float64))[:2, 2]
    crop = crop_affine_matrix(centre, np.array([crop_size, crop_size], float), (crop_size, crop_size))
    return (np.vstack([crop, [0.0, 0.0, 1.0]]) @ rescale)[:2], (crop_size, crop_size)


def to_pil(image_chw: np.ndarray) -> Image.Image:
    """(3,H,W) float [0,1] -> PIL RGB image."""
    return Image.fromarray((np.clip(np.asarray(image_chw).transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8))


class Frames:
    """Preprocessed annotations (K, joints, model-input size; no pixels) and an image reader per frame.

    `annotations[i]` holds the schema keys of frame i without the image plus `image_hw` (model-input H, W)
    and `parts` (the part sets it is scored on, None = all); `image(i)` decodes and warps frame i on demand.
    """

    def __init__(self, annotations: list[dict[str, Any]], read: Callable[[int], np.ndarray]) -> None:
        self.annotations = annotations
        self._read = read

    @classmethod
    def in_memory(cls, samples: list[dict[str, Any]]) -> Frames:
        """Frames of already preprocessed samples (the small synthetic renders)."""
        annotations = [{**{k: v for k, v in s.items() if k != S.IMAGE},
                        "image_hw": tuple(np.asarray(s[S.IMAGE]).shape[-2:])} for s in samples]
        return cls(annotations, lambda i: samples[i][S.IMAGE])

    def __len__(self) -> int:
        return len(self.annotations)

    def head(self, count: int) -> Frames:
        """The first `count` frames (same reader)."""
        return Frames(self.annotations[:count], self._read)

    def image(self, index: int) -> Image.Image:
        """Model-input RGB image of frame `index`, read now."""
        return to_pil(self._read(index))

    def sample(self, index: int) -> dict[str, Any]:
        """Annotation of frame `index` with its (3,H,W) float image."""
        return {**self.annotations[index], S.IMAGE: self._read(index)}

    def joints_cam(self) -> np.ndarray:
        """(N,22,3) camera-frame joints (m) of every frame."""
        return np.stack([np.asarray(a[S.JOINTS_CAM], np.float64)[:22] for a in self.annotations])


def preprocessed_frames(dataset: Any, indices: list[int], canonical_focal: float, crop_size: int | None) -> Frames:
    """Frames of `dataset` (annotation(i) without pixels, read_image(i)) at the canonical focal and crop."""
    annotations, maps = [], []
    for i in indices:
        raw = dataset.annotation(i)
        affine, out_hw = model_input_affine(raw[S.K], raw["image_hw"], canonical_focal, crop_size)
        annotations.append({**apply_affine({k: v for k, v in raw.items() if k != "image_hw"}, affine, out_hw),
                            "image_hw": out_hw})
        maps.append((i, affine, out_hw))

    def read(position: int) -> np.ndarray:
        i, affine, out_hw = maps[position]
        return apply_affine({S.IMAGE: dataset.read_image(i)}, affine, out_hw)[S.IMAGE]

    return Frames(annotations, read)


def image_dataset(rows: list[dict[str, Any]], image_of: Callable[[int], Image.Image]) -> Dataset:
    """TRL dataset of `rows` (no pixels stored); the `image` of row i is read by `image_of(i)` at each access."""
    table = Dataset.from_list([{**row, "row_id": i} for i, row in enumerate(rows)])

    def attach(batch: dict[str, list]) -> dict[str, list]:
        ids = batch.pop("row_id")
        return {**batch, "image": [image_of(i) for i in ids]}

    return table.with_transform(attach)
