"""ObMan in its released layout (hassony2/obman) with ShapeNet object meshes, in the OpenCV camera frame.

Layout: `<root>/<split>/rgb/%08d.jpg` (256x256), `<root>/<split>/segm/%08d.png` (object label 100),
`<root>/<split>/meta/%08d.pkl` (coords_3d, verts_3d, class_id, sample_id, affine_transform, side, ...) and
`<shapenet_root>/<class_id>/<sample_id>/models/model_normalized.obj`. The 3D annotations are in Blender's
camera convention; `BLENDER_TO_OPENCV` = diag(1,-1,-1) turns them into OpenCV (as gSDF's cocoify_obman).
The frames used are those of a gSDF split list (`datasets/obman/splits/train_87k.json`, `test_6k.json`: a JSON
list of 8-digit ids), not every meta file of the split folder.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from common.data import schema as S
from common.data.base import RealFormatDataset, read_image
from common.data.render import rasterize
from common.data.subset import first_samples
from common.geometry.meshes import read_mesh

OBMAN_K = np.array([[480.0, 0.0, 128.0], [0.0, 480.0, 128.0], [0.0, 0.0, 1.0]], np.float32)
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
OBJECT_SEG_VALUE = 100
SHAPENET_CATEGORIES: dict[str, str] = {
    "02876657": "bottle", "02880940": "bowl", "02946921": "can", "02942699": "camera", "02992529": "cellphone",
    "03593526": "jar", "03624134": "knife", "03797390": "mug", "04074963": "remote"}
"""ShapeNet synsets of ObMan's object categories."""


def blender_to_opencv(points: np.ndarray) -> np.ndarray:
    """Points (...,3) from ObMan's Blender camera frame to the OpenCV camera frame (float32, metres)."""
    return (np.asarray(points, np.float64) @ BLENDER_TO_OPENCV.T).astype(np.float32)


class ObManHandObject(RealFormatDataset):
    """ObMan frames as schema samples: image, OpenCV-frame hand joints/vertices, object pose and masks."""

    docs: ClassVar[str] = "docs/tiger.md#obman"
    index_version: ClassVar[int] = 1

    def __init__(self, root: str | Path, split: str, shapenet_root: str | Path, ids_file: str | Path,
                 max_samples: int | None = None, **kwargs: Any) -> None:
        self.shapenet_root = Path(shapenet_root)
        self._models: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        super().__init__(root, split, **kwargs)
        self.index = list(first_samples(self._select(Path(ids_file)), max_samples))

    def _select(self, ids_file: Path) -> list[dict[str, Any]]:
        """Index records of the ids in a gSDF split json, in the file's order; ids without a frame fail."""
        if not ids_file.is_file():
            raise FileNotFoundError(f"ObMan split list {ids_file} not found: set data.train_ids / data.eval_ids to "
                                    "gSDF's datasets/obman/splits/train_87k.json / test_6k.json (docs/tiger.md#obman)")
        ids = [str(i).zfill(8) for i in json.loads(ids_file.read_text())]
        by_id = {rec["id"]: rec for rec in self.index}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise FileNotFoundError(f"{len(missing)} ids of {ids_file} have no meta file under "
                                    f"{self.root / self.split / 'meta'} (first: {missing[:3]}); wrong split?")
        return [by_id[i] for i in ids]

    def expected_files(self) -> list[str]:
        return [f"{self.split}/rgb/*.jpg", f"{self.split}/segm/*.png", f"{self.split}/meta/*.pkl"]

    def build_index(self) -> list[dict[str, Any]]:
        records = []
        for meta_path in sorted((self.root / self.split / "meta").glob("*.pkl")):
            with open(meta_path, "rb") as f:
                meta = pickle.load(f, encoding="latin1")
            records.append({"id": meta_path.stem, "model": f"{meta['class_id']}/{meta['sample_id']}",
                            "side": meta.get("side", "right")})
        return records

    def describe(self, i: int) -> dict[str, str]:
        """Sample id, object model, category text and image path of sample i, without decoding it."""
        rec = self.index[i]
        return {"sample_id": rec["id"], "object_model": rec["model"],
                "category": SHAPENET_CATEGORIES.get(rec["model"].split("/")[0], rec["model"].split("/")[0]),
                "image_path": str(self.root / self.split / "rgb" / f"{rec['id']}.jpg")}

    def object_model(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(verts, faces) of ShapeNet `model_normalized.obj` for '<class_id>/<sample_id>' (model frame)."""
        if name not in self._models:
            path = self.shapenet_root / name / "models" / "model_normalized.obj"
            if not path.is_file():
                raise FileNotFoundError(f"ShapeNet mesh {path} not found; set data.shapenet_root to "
                                        "ShapeNetCore.v2 (docs/tiger.md#obman)")
            self._models[name] = read_mesh(path)
        return self._models[name]

    def load_sample(self, record: dict[str, Any]) -> dict[str, Any]:
        split_dir = self.root / self.split
        with open(split_dir / "meta" / f"{record['id']}.pkl", "rb") as f:
            meta = pickle.load(f, encoding="latin1")
        image = read_image(split_dir / "rgb" / f"{record['id']}.jpg")
        segm = cv2.imread(str(split_dir / "segm" / f"{record['id']}.png"), cv2.IMREAD_UNCHANGED)
        if segm.ndim == 3:
            segm = segm[:, :, 0]
        pose = np.eye(4)
        pose[:3] = BLENDER_TO_OPENCV @ np.asarray(meta["affine_transform"], np.float64)[:3]
        verts, faces = self.object_model(record["model"])
        face_ids, _ = rasterize(verts @ pose[:3, :3].T + pose[:3, 3], faces, OBMAN_K, image.shape[1:])
        return {S.IMAGE: image, S.K: OBMAN_K.copy(), S.JOINTS_CAM: blender_to_opencv(meta["coords_3d"]),
                S.VERTICES_CAM: blender_to_opencv(meta["verts_3d"]), S.OBJECT_POSE: pose.astype(np.float32),
                S.OBJECT_CATEGORY: SHAPENET_CATEGORIES.get(str(meta["class_id"]), str(meta["class_id"])),
                S.OBJECT_MASK: segm == OBJECT_SEG_VALUE, S.OBJECT_MASK_AMODAL: face_ids >= 0,
                S.HAND_SIDE: record["side"], S.SEQUENCE_ID: record["id"], S.FRAME_ID: int(record["id"]),
                "object_model": record["model"]}
