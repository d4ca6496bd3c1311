"""Model-input frames whose images are decoded from disk when a batch asks for them (memory flat in N)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from datasets import Dataset
from PIL import Image

from common.data import schema as S
from common.data.base import read_rgb
from common.data.transforms import apply_affine, crop_affine_matrix
from taihri.columns import Records


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


def warp_image_file(path: str | Path, affine: np.ndarray, out_hw: tuple[int, int]) -> Image.Image:
    """Decode `path` and warp it by the 2x3 pixel `affine` into an (H,W)=out_hw PIL RGB image.

    Equal, pixel for pixel, to `to_pil` of `apply_affine` on `read_image(path)` (the same float32 [0,1] bilinear
    warp), but kept in HWC with in-place clipping: one float buffer per stage instead of six transposed copies.
    """
    rgb = read_rgb(path)
    source = rgb / np.float32(255.0)
    del rgb
    warped = cv2.warpAffine(source, np.asarray(affine, np.float64), (out_hw[1], out_hw[0]), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT)
    del source
    np.clip(warped, 0.0, 1.0, out=warped)
    warped *= 255
    return Image.fromarray(warped.astype(np.uint8))


class Frames:
    """Preprocessed annotations (K, joints, model-input size; no pixels) and an image reader per frame.

    `annotations[i]` holds the schema keys of frame i without the image plus `image_hw` (model-input H, W)
    and `parts` (the part sets it is scored on, None = all), stored column-wise (`taihri.columns.Records`);
    `image(i)` decodes and warps frame i on demand.
    """

    def __init__(self, annotations: Records, read: Callable[[int], np.ndarray],
                 read_pil: Callable[[int], Image.Image] | None = None) -> None:
        self.annotations = annotations
        self._read = read
        self._read_pil = read_pil

    @classmethod
    def in_memory(cls, samples: list[dict[str, Any]]) -> Frames:
        """Frames of already preprocessed samples (the small synthetic renders)."""
        annotations = Records.from_dicts({**{k: v for k, v in s.items() if k != S.IMAGE},
                                          "image_hw": tuple(np.asarray(s[S.IMAGE]).shape[-2:])} for s in samples)
        return cls(annotations, lambda i: samples[i][S.IMAGE])

    def __len__(self) -> int:
        return len(self.annotations)

    def head(self, count: int) -> Frames:
        """The first `count` frames (same reader)."""
        return Frames(self.annotations.take(np.arange(min(count, len(self)))), self._read, self._read_pil)

    def image(self, index: int) -> Image.Image:
        """Model-input RGB image of frame `index`, read now."""
        return self._read_pil(index) if self._read_pil is not None else to_pil(self._read(index))

    def sample(self, index: int) -> dict[str, Any]:
        """Annotation of frame `index` with its (3,H,W) float image."""
        return {**self.annotations[index], S.IMAGE: self._read(index)}

    def joints_cam(self) -> np.ndarray:
        """(N,22,3) camera-frame joints (m) of every frame."""
        return np.asarray(self.annotations.column(S.JOINTS_CAM), np.float64)[:, :22]


def preprocessed_frames(dataset: Any, indices: list[int], canonical_focal: float, crop_size: int | None) -> Frames:
    """Frames of `dataset` (annotation(i), image_path(i), read_image(i)) at the canonical focal and crop.

    Per frame only its dataset index, 2x3 affine and model-input size are kept beside the annotation columns.
    """
    positions = np.asarray(indices, np.int64)
    affines = np.zeros((len(positions), 2, 3))
    sizes = np.zeros((len(positions), 2), np.int64)

    def annotation(position: int) -> dict[str, Any]:
        raw = dataset.annotation(int(positions[position]))
        affine, out_hw = model_input_affine(raw[S.K], raw["image_hw"], canonical_focal, crop_size)
        affines[position], sizes[position] = affine, out_hw
        return {**apply_affine({k: v for k, v in raw.items() if k != "image_hw"}, affine, out_hw),
                "image_hw": out_hw}

    annotations = Records.from_dicts(annotation(p) for p in range(len(positions)))

    def read(position: int) -> np.ndarray:
        out_hw = tuple(int(v) for v in sizes[position])
        return apply_affine({S.IMAGE: dataset.read_image(int(positions[position]))}, affines[position],
                            out_hw)[S.IMAGE]

    def read_pil(position: int) -> Image.Image:
        out_hw = (int(sizes[position][0]), int(sizes[position][1]))
        return warp_image_file(dataset.image_path(int(positions[position])), affines[position], out_hw)

    return Frames(annotations, read, read_pil)


def image_dataset(rows: Sequence[dict[str, Any]], keys: Sequence[str], image_of: Callable[[dict], Image.Image]
                  ) -> Dataset:
    """TRL dataset over `rows` holding only row ids; row i's `keys` and `image_of(row i)` are built per access.

    The Arrow table is one int64 column (8 bytes per row): prompts, answers and pixels never sit in memory
    for the whole set.
    """
    table = Dataset.from_dict({"row_id": np.arange(len(rows), dtype=np.int64)})

    def attach(batch: dict[str, list]) -> dict[str, list]:
        built = [rows[int(i)] for i in batch["row_id"]]
        return {**{k: [r[k] for r in built] for k in keys}, "image": [image_of(r) for r in built]}

    return table.with_transform(attach)
