"""EgoBody (prepared by scripts/prepare_egobody.py) and Harmony4D-Egocentric (TAIHRI .npy) loaders.

Indices hold annotations and image sizes only, column-wise; `read_image(i)` decodes a frame when a batch needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from common.data import schema as S
from common.data.base import RealFormatDataset, read_image
from taihri.columns import Records

HARMONY4D_PART_FILES = {"left_arm": "leftarm", "right_arm": "rightarm", "upper_body": "upperbody"}
"""TAIHRI's Harmony4D-Egocentric annotation files per evaluated part set (lower body is not evaluated)."""


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file from its header (no pixel decoding)."""
    with Image.open(path) as image:
        return image.height, image.width


def _annotation(record: dict[str, Any]) -> dict:
    """Schema annotation (no pixels) with joints projected (px, centres at integers) and validity."""
    joints_cam = np.asarray(record["joints"], np.float32)[:22]
    K = np.asarray(record["K"], np.float64)
    uvw = joints_cam @ K.T
    uv = (uvw[:, :2] / np.maximum(uvw[:, 2:3], 1e-6)).astype(np.float32)
    h, w = record["hw"]
    inside = (uv >= -0.5).all(-1) & (uv[:, 0] <= w - 0.5) & (uv[:, 1] <= h - 0.5)
    return {S.K: K.astype(np.float32), S.JOINTS_CAM: joints_cam, S.JOINTS_2D: uv,
            S.JOINT_VALID: inside & (joints_cam[:, 2] > 0), S.SEQUENCE_ID: record["sequence"],
            S.FRAME_ID: int(record["frame"]), "image_hw": (int(h), int(w)), "parts": record.get("parts")}


class _LazyFrames(RealFormatDataset):
    """Shared access: `annotation(i)` without pixels, `read_image(i)` decoded on demand, full samples by index.

    The cached JSON index is turned into columns once loaded (`taihri.columns.Records`): a few arrays and
    one path buffer instead of a dict of Python lists per frame.
    """

    index_version: ClassVar[int] = 2

    def __init__(self, root: str | Path, split: str = "train", **kwargs: Any) -> None:
        super().__init__(root, split, **kwargs)
        self.index = Records.from_dicts(self.index)

    def complete(self, record: dict[str, Any]) -> dict[str, Any]:
        """An index record with its K (px) and joints (m)."""
        return record

    def annotation(self, i: int) -> dict:
        """Annotation of frame i (K px, joints m, 2D px, image_hw, parts); the image is not read."""
        return _annotation(self.complete(self.index[i]))

    def image_path(self, i: int) -> Path:
        """Image file of frame i."""
        return self.root / self.index.value(i, "image")

    def read_image(self, i: int) -> np.ndarray:
        """(3,H,W) float RGB of frame i, decoded now."""
        return read_image(self.image_path(i))

    def load_sample(self, record: dict[str, Any]) -> dict:
        annotation = _annotation(self.complete(record))
        return {**{k: v for k, v in annotation.items() if k not in ("image_hw", "parts")},
                S.IMAGE: read_image(self.root / record["image"])}


class EgoBodyEgocentric(_LazyFrames):
    """EgoBody egocentric (HoloLens PV) frames with the interactee's SMPL joints in the PV camera frame.

    The index records the image, frame number, sequence, size and row of the prepared npz; K and joints
    stay in that file's arrays.
    """

    docs: ClassVar[str] = "docs/taihri.md#egobody"
    index_version: ClassVar[int] = 3

    def __init__(self, root: str | Path, split: str = "train", **kwargs: Any) -> None:
        super().__init__(root, split, **kwargs)
        with np.load(self.root / f"taihri/egobody_{self.split}.npz") as data:
            self.K, self.joints = data["K"], data["joints_cam"]

    def expected_files(self) -> list[str]:
        return [f"taihri/egobody_{self.split}.npz", "egocentric_color"]

    def complete(self, record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "K": self.K[record["row"]], "joints": self.joints[record["row"]]}

    def build_index(self) -> list[dict[str, Any]]:
        data = np.load(self.root / f"taihri/egobody_{self.split}.npz")
        return [{"image": str(p), "row": row, "frame": int(f), "sequence": Path(str(p)).parts[1],
                 "hw": image_size(self.root / str(p))}
                for row, (p, f) in enumerate(zip(data["image_path"], data["frame_id"]))]


class Harmony4DEgocentric(_LazyFrames):
    """Harmony4D-Egocentric frames from TAIHRI's `data_center/harmony4d_<split>_<part>_center.npy` files.

    Each file is a pickled dict {image path (relative to root): {"K": (3,3) px, "joints_cam": (J>=22,3) m}};
    the value layout is ours (the released eval code only shows the keys), see docs/taihri.md#harmony4d.
    A frame records the part files that list it: each part set is scored on its own images.
    """

    docs: ClassVar[str] = "docs/taihri.md#harmony4d"

    def expected_files(self) -> list[str]:
        return [f"data_center/harmony4d_{self.split}_{name}_center.npy" for name in HARMONY4D_PART_FILES.values()]

    def build_index(self) -> list[dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        for part, name in HARMONY4D_PART_FILES.items():
            annotations = np.load(self.root / f"data_center/harmony4d_{self.split}_{name}_center.npy",
                                  allow_pickle=True).item()
            for path, value in annotations.items():
                record = records.setdefault(str(path), {
                    "image": str(path), "K": np.asarray(value["K"]).tolist(),
                    "joints": np.asarray(value["joints_cam"]).tolist(), "parts": [],
                    "sequence": str(Path(str(path)).parent), "hw": image_size(self.root / str(path))})
                record["parts"].append(part)
        return [{**r, "frame": i} for i, r in enumerate(sorted(records.values(), key=lambda r: r["image"]))]
