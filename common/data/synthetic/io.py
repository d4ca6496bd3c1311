"""Write generated samples to disk in a fixed layout and read them back as a `RealFormatDataset`.

Layout under `<root>/<split>/`: `meta.json` (generator name/config, sample count), `images/<i:06d>.jpg`
(or `<i:06d>_<t:03d>.jpg` per clip frame) and `labels/<i:06d>.npz` holding every other key (nested dicts
flattened as `smpl.pose`, strings as 0-d unicode arrays). See docs/data.md#synthetic-datasets-on-disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from common.data import schema as S
from common.data.base import RealFormatDataset, Sample, read_image


def _to_uint8_bgr(image: np.ndarray) -> np.ndarray:
    """(3,H,W) float RGB in [0,1] -> (H,W,3) uint8 BGR."""
    return np.clip(np.asarray(image).transpose(1, 2, 0)[:, :, ::-1] * 255.0 + 0.5, 0, 255).astype(np.uint8)


def write_sample(sample: Sample, split_dir: Path, index: int, jpeg_quality: int = 95) -> None:
    """Write one sample as images/<index>.jpg (+ frames) and labels/<index>.npz."""
    arrays: dict[str, np.ndarray] = {}
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    for key, value in sample.items():
        if key == S.IMAGE:
            cv2.imwrite(str(split_dir / "images" / f"{index:06d}.jpg"), _to_uint8_bgr(value), params)
        elif key == S.FRAMES:
            for t, frame in enumerate(np.asarray(value)):
                path = split_dir / "images" / f"{index:06d}_{t:03d}.jpg"
                cv2.imwrite(str(path), _to_uint8_bgr(frame), params)
            arrays["num_frames"] = np.asarray(len(value))
        elif isinstance(value, dict):
            arrays.update({f"{key}.{sub}": np.asarray(v) for sub, v in value.items()})
        else:
            arrays[key] = np.asarray(value)
    np.savez_compressed(split_dir / "labels" / f"{index:06d}.npz", **arrays)


def write_dataset(samples: Iterable[Sample], root: str | Path, split: str = "train",
                  meta: dict[str, Any] | None = None) -> Path:
    """Write `samples` under `<root>/<split>/` in the synthetic layout; returns the split directory."""
    split_dir = Path(root) / split
    (split_dir / "images").mkdir(parents=True, exist_ok=True)
    (split_dir / "labels").mkdir(parents=True, exist_ok=True)
    count = 0
    for count, sample in enumerate(samples, start=1):
        write_sample(sample, split_dir, count - 1)
    (split_dir / "meta.json").write_text(json.dumps({**(meta or {}), "num_samples": count}, indent=1))
    return split_dir


def _from_npz(arrays: Any) -> Sample:
    """Undo the flattening of `write_sample`: nested dicts, python str and int scalars."""
    sample: Sample = {}
    for name in arrays.files:
        value = arrays[name]
        if value.dtype.kind == "U":
            value = str(value) if value.ndim == 0 else [str(v) for v in value]
        elif value.ndim == 0 and value.dtype.kind == "i":
            value = int(value)
        if "." in name:
            key, sub = name.split(".", 1)
            sample.setdefault(key, {})[sub] = value
        else:
            sample[name] = value
    return sample


class SyntheticDataset(RealFormatDataset):
    """Reads a split written by `write_dataset` (any generator) back as schema samples."""

    docs = "docs/data.md#synthetic-datasets-on-disk"

    def expected_files(self) -> list[str]:
        """meta.json and at least one label file for the split."""
        return [f"{self.split}/meta.json", f"{self.split}/labels/*.npz", f"{self.split}/images"]

    def build_index(self) -> list[dict[str, Any]]:
        """One record per label file, with the image paths it refers to."""
        meta = json.loads((self.root / self.split / "meta.json").read_text())
        records = []
        for i in range(int(meta["num_samples"])):
            label = self.root / self.split / "labels" / f"{i:06d}.npz"
            image = self.root / self.split / "images" / f"{i:06d}.jpg"
            records.append({"file": str(label.relative_to(self.root)),
                            "image": str(image.relative_to(self.root)) if image.is_file() else None})
        return records

    def load_sample(self, record: dict[str, Any]) -> Sample:
        """Decode labels and images (lazily, only for this record)."""
        with np.load(self.root / record["file"]) as arrays:
            sample = _from_npz(arrays)
        if record["image"] is not None:
            sample[S.IMAGE] = read_image(self.root / record["image"])
        num_frames = sample.pop("num_frames", None)
        if num_frames is not None:
            stem = Path(record["file"]).stem
            sample[S.FRAMES] = np.stack([read_image(self.root / self.split / "images" / f"{stem}_{t:03d}.jpg")
                                         for t in range(num_frames)])
        return sample
