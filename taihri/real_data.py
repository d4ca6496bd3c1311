"""EgoBody (prepared by scripts/prepare_egobody.py) and Harmony4D-Egocentric (TAIHRI .npy) loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from common.data import schema as S
from common.data.base import RealFormatDataset, read_image

HARMONY4D_PART_FILES = {"left_arm": "leftarm", "right_arm": "rightarm", "upper_body": "upperbody"}
"""TAIHRI's Harmony4D-Egocentric annotation files per evaluated part set (lower body is not evaluated)."""


def _sample(image: np.ndarray, K: np.ndarray, joints_cam: np.ndarray, sequence: str, frame: int) -> dict:
    """Schema sample with joints projected (pixels, centres at integers) and validity from depth/frame."""
    joints_cam = np.asarray(joints_cam, np.float32)[:22]
    uvw = joints_cam @ np.asarray(K, np.float64).T
    uv = (uvw[:, :2] / np.maximum(uvw[:, 2:3], 1e-6)).astype(np.float32)
    h, w = image.shape[-2:]
    inside = (uv >= -0.5).all(-1) & (uv[:, 0] <= w - 0.5) & (uv[:, 1] <= h - 0.5)
    return {S.IMAGE: image, S.K: np.asarray(K, np.float32), S.JOINTS_CAM: joints_cam, S.JOINTS_2D: uv,
            S.JOINT_VALID: inside & (joints_cam[:, 2] > 0), S.SEQUENCE_ID: sequence, S.FRAME_ID: frame}


class EgoBodyEgocentric(RealFormatDataset):
    """EgoBody egocentric (HoloLens PV) frames with the interactee's SMPL joints in the PV camera frame."""

    docs: ClassVar[str] = "docs/taihri.md#egobody"

    def expected_files(self) -> list[str]:
        return [f"taihri/egobody_{self.split}.npz", "egocentric_color"]

    def build_index(self) -> list[dict[str, Any]]:
        data = np.load(self.root / f"taihri/egobody_{self.split}.npz")
        return [{"image": str(p), "K": k.tolist(), "joints": j.tolist(), "frame": i}
                for i, (p, k, j) in enumerate(zip(data["image_path"], data["K"], data["joints_cam"]))]

    def load_sample(self, record: dict[str, Any]) -> dict:
        image = read_image(self.root / record["image"])
        return _sample(image, np.array(record["K"]), np.array(record["joints"]),
                       Path(record["image"]).parts[1], record["frame"])


class Harmony4DEgocentric(RealFormatDataset):
    """Harmony4D-Egocentric test frames from TAIHRI's `data_center/harmony4d_test_<part>_center.npy` files.

    Each file is a pickled dict {image path (relative to root): {"K": (3,3) px, "joints_cam": (J>=22,3) m}};
    the value layout is ours (the released eval code only shows the keys), see docs/taihri.md#harmony4d.
    """

    docs: ClassVar[str] = "docs/taihri.md#harmony4d"

    def expected_files(self) -> list[str]:
        return [f"data_center/harmony4d_{self.split}_{name}_center.npy" for name in HARMONY4D_PART_FILES.values()]

    def build_index(self) -> list[dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        for name in HARMONY4D_PART_FILES.values():
            annotations = np.load(self.root / f"data_center/harmony4d_{self.split}_{name}_center.npy",
                                  allow_pickle=True).item()
            for path, value in annotations.items():
                records.setdefault(str(path), {"image": str(path), "K": np.asarray(value["K"]).tolist(),
                                               "joints": np.asarray(value["joints_cam"]).tolist()})
        return [{**r, "frame": i} for i, r in enumerate(sorted(records.values(), key=lambda r: r["image"]))]

    def load_sample(self, record: dict[str, Any]) -> dict:
        image = read_image(self.root / record["image"])
        return _sample(image, np.array(record["K"]), np.array(record["joints"]),
                       str(Path(record["image"]).parent), record["frame"])
