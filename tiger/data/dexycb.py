"""DexYCB in its released layout (dex-ycb-toolkit), with gSDF's s0 selection for hand-object reconstruction.

Layout under `root`: `<subject>/<YYYYMMDD_HHMMSS>/meta.yml`, `<subject>/<seq>/<serial>/color_%06d.jpg` and
`labels_%06d.npz` (seg, pose_y, pose_m, joint_3d, joint_2d), `calibration/intrinsics/<serial>_640x480.yml`,
`calibration/mano_<calib>/mano.yml`, `models/<ycb name>/textured_simple.obj` (metres).
Selection (gSDF `cocoify_dexycb.py`): setup s0, right hand only, every 5th frame, frames whose joint_2d are
all -1 skipped, test frames kept only when object and MANO vertices come within 5 mm. Splits follow the
toolkit's fixed, ordered subject list (`SUBJECTS`), never the folders present: a subject that was not
downloaded only leaves its own samples out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
import yaml
from scipy.spatial import cKDTree

from common.data import schema as S
from common.data.base import RealFormatDataset, read_image
from common.data.render import rasterize
from common.data.subset import first_samples
from common.geometry.meshes import read_mesh

YCB_CLASSES: tuple[str, ...] = (
    "002_master_chef_can", "003_cracker_box", "004_sugar_box", "005_tomato_soup_can", "006_mustard_bottle",
    "007_tuna_fish_can", "008_pudding_box", "009_gelatin_box", "010_potted_meat_can", "011_banana",
    "019_pitcher_base", "021_bleach_cleanser", "024_bowl", "025_mug", "035_power_drill", "036_wood_block",
    "037_scissors", "040_large_marker", "051_large_clamp", "052_extra_large_clamp", "061_foam_brick")
"""DexYCB `_YCB_CLASSES` (ids 1..21)."""
SUBJECTS: tuple[str, ...] = (
    "20200709-subject-01", "20200813-subject-02", "20200820-subject-03", "20200903-subject-04",
    "20200908-subject-05", "20200918-subject-06", "20200928-subject-07", "20201002-subject-08",
    "20201015-subject-09", "20201022-subject-10")
"""DexYCB `_SUBJECTS` in the toolkit's order: the s0 split is defined on these indices."""
SERIALS: tuple[str, ...] = ("836212060125", "839512060362", "840412060917", "841412060263", "932122060857",
                            "932122060861", "932122061900", "932122062010")
"""DexYCB `_SERIALS` (all eight cameras are used by s0)."""
S0_VAL_SUBJECTS = (0, 1)
AMODAL_VERSION = 1
HAND_SEG_VALUE = 255
FRAME_STEP = 5
CONTACT_THRESHOLD_M = 0.005
MODEL_CLASSES_FILE = "models/classes.txt"
"""Synthetic-layout addition: model names in id order, replacing YCB_CLASSES when present."""


def category_text(model_name: str) -> str:
    """Category words of a YCB-style model name, e.g. '025_mug' -> 'mug', '006_mustard_bottle' -> 'mustard bottle'."""
    words = [w for w in model_name.split("_") if not w.isdigit()]
    return " ".join(words) or model_name


class _CalibrationLoader(yaml.SafeLoader):
    """SafeLoader that also reads `!!python/tuple` nodes (as lists) without executing anything."""


_CalibrationLoader.add_constructor("tag:yaml.org,2002:python/tuple",
                                   lambda loader, node: loader.construct_sequence(node))


def read_yaml(path: Path) -> Any:
    """A DexYCB yml file (meta, intrinsics, MANO calibration), accepting python/tuple tags safely."""
    with open(path) as f:
        return yaml.load(f, Loader=_CalibrationLoader)


def s0_split(subject_index: int, sequence_index: int, split: str) -> bool:
    """Whether sequence `sequence_index` (sorted order) of subject `subject_index` (in SUBJECTS) is in s0 `split`:
    train i%5!=4 of all subjects; val subjects 0-1 and test subjects 2-9 with i%5==4."""
    held_out = sequence_index % 5 == 4
    if split == "train":
        return not held_out
    in_val = subject_index in S0_VAL_SUBJECTS
    return held_out and ((split == "val" and in_val) or (split == "test" and not in_val))


class DexYCBHandObject(RealFormatDataset):
    """DexYCB s0 frames as schema samples with the grasped object's pose, model name, masks and MANO hand."""

    docs: ClassVar[str] = "docs/tiger.md#dexycb"
    index_version: ClassVar[int] = 2

    def __init__(self, root: str | Path, split: str = "train", mano_dir: str | Path | None = None,
                 max_samples: int | None = None, **kwargs: Any) -> None:
        self.mano_dir = mano_dir
        self.max_samples = max_samples
        self._mano: Any = None
        self._models: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        super().__init__(root, split, **kwargs)
        self.index = list(first_samples(self.index, max_samples))
        self._intrinsics: dict[str, np.ndarray] = {}

    def expected_files(self) -> list[str]:
        return ["*/*/meta.yml", "*/*/*/labels_*.npz", "*/*/*/color_*.jpg", "calibration/intrinsics/*.yml",
                "calibration/mano_*/mano.yml", "models/*/textured_simple.obj"]

    def class_names(self) -> tuple[str, ...]:
        """Object model names by id - 1 (YCB_CLASSES, or models/classes.txt of the synthetic layout)."""
        path = self.root / MODEL_CLASSES_FILE
        return tuple(path.read_text().split()) if path.is_file() else YCB_CLASSES

    def mano(self) -> Any:
        """smplx MANO (axis-angle input, non-flat mean), right hand; pose_m's PCA is applied in `mano_forward`."""
        if self._mano is None:
            from common.body import load_mano

            self._mano = load_mano(self.mano_dir, is_rhand=True, flat_hand_mean=False, num_pca_comps=45)
        return self._mano

    def object_model(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(verts (V,3) m, faces) of `models/<name>/textured_simple.obj` in the object frame."""
        if name not in self._models:
            self._models[name] = read_mesh(self.root / "models" / name / "textured_simple.obj")
        return self._models[name]

    def contact_points(self, name: str) -> np.ndarray:
        """Object vertices plus 2,048 seeded surface samples (object frame): the contact rule's object side,
        which equals gSDF's vertex test on dense YCB meshes and stays valid on coarse meshes."""
        from common.metrics.pointcloud import sample_surface

        verts, faces = self.object_model(name)
        return np.concatenate([verts, sample_surface(verts, faces, 2048, 0)])

    def mano_forward(self, pose_m: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """MANO vertices (778,3) m camera frame and the absolute 48-d axis-angle pose from a pose_m row (51,)."""
        model = self.mano()
        # smplx skips the PCA when all 45 components are requested, so decode like manopth here.
        hand_pose = pose_m[3:48] @ np.asarray(model.np_hand_components, np.float32)
        with torch.no_grad():
            out = model(global_orient=torch.as_tensor(pose_m[None, :3], dtype=torch.float32),
                        hand_pose=torch.as_tensor(hand_pose[None], dtype=torch.float32),
                        betas=torch.as_tensor(betas[None], dtype=torch.float32),
                        transl=torch.as_tensor(pose_m[None, 48:51], dtype=torch.float32), return_full_pose=True)
        return out.vertices[0].numpy(), out.full_pose[0].numpy()

    def build_index(self) -> list[dict[str, Any]]:
        classes = self.class_names()
        records = []
        for s_idx, subject in enumerate(SUBJECTS):
            if not (self.root / subject).is_dir():
                continue
            sequences = sorted(p.name for p in (self.root / subject).iterdir() if (p / "meta.yml").is_file())
            for q_idx, seq in enumerate(sequences):
                if s0_split(s_idx, q_idx, self.split):
                    records += self._sequence_records(self.root / subject / seq, classes)
        return records

    def _sequence_records(self, seq_dir: Path, classes: tuple[str, ...]) -> list[dict[str, Any]]:
        meta = read_yaml(seq_dir / "meta.yml")
        if meta["mano_sides"][0] != "right":
            return []
        betas = read_yaml(self.root / "calibration" / f"mano_{meta['mano_calib'][0]}" / "mano.yml")["betas"]
        ycb_id = int(meta["ycb_ids"][meta["ycb_grasp_ind"]])
        records = []
        for serial in SERIALS:
            serial_dir = seq_dir / serial
            if serial_dir.is_dir():
                for frame in range(0, int(meta["num_frames"]), FRAME_STEP):
                    rec = self._frame_record(serial_dir, frame, meta, betas, ycb_id, classes)
                    if rec is not None:
                        records.append(rec)
        return records

    def _frame_record(self, serial_dir: Path, frame: int, meta: dict, betas: list[float], ycb_id: int,
                      classes: tuple[str, ...]) -> dict[str, Any] | None:
        labels_path = serial_dir / f"labels_{frame:06d}.npz"
        if not labels_path.is_file():
            return None
        labels = np.load(labels_path)
        if np.all(labels["joint_2d"] == -1) or np.all(labels["pose_m"] == 0):
            return None
        grasp = int(meta["ycb_grasp_ind"])
        name = classes[ycb_id - 1]
        if self.split == "test":
            verts, _ = self.mano_forward(labels["pose_m"][0], np.asarray(betas, np.float32))
            pose = labels["pose_y"][grasp]
            obj = self.contact_points(name) @ pose[:, :3].T + pose[:, 3]
            if cKDTree(verts).query(obj)[0].min() > CONTACT_THRESHOLD_M:
                return None
        rel = serial_dir.relative_to(self.root)
        return {"dir": str(rel), "frame": frame, "serial": serial_dir.name, "betas": list(map(float, betas)),
                "ycb_id": ycb_id, "grasp_ind": grasp, "model": name,
                "id": f"{rel.parts[0]}_{rel.parts[1]}_{serial_dir.name}_{frame}"}

    def intrinsics(self, serial: str) -> np.ndarray:
        """3x3 colour intrinsics of a camera serial from calibration/intrinsics/<serial>_640x480.yml (read once)."""
        if serial not in self._intrinsics:
            color = read_yaml(self.root / "calibration" / "intrinsics" / f"{serial}_640x480.yml")["color"]
            self._intrinsics[serial] = np.array([[color["fx"], 0, color["ppx"]], [0, color["fy"], color["ppy"]],
                                                 [0, 0, 1]], np.float32)
        return self._intrinsics[serial].copy()

    def amodal_mask(self, record: dict[str, Any], pose: np.ndarray, K: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        """(H,W) bool mask of the posed object model ignoring occluders, rasterised once per frame and kept
        bit-packed in the index cache folder (keyed by frame, model, pose and intrinsics)."""
        from common.cache import cache_key, cache_path, cached_npz

        def build() -> dict[str, np.ndarray]:
            verts, faces = self.object_model(record["model"])
            face_ids, _ = rasterize(verts @ pose[:3, :3].T + pose[:3, 3], faces, K, hw)
            return {"bits": np.packbits(face_ids >= 0)}

        key = cache_key(AMODAL_VERSION, str(self.root.resolve()), record["id"], record["model"], pose, K, list(hw))
        bits = cached_npz(cache_path(self.cache_dir, "tiger_amodal", key, ".npz"), build)["bits"]
        return np.unpackbits(bits, count=hw[0] * hw[1]).reshape(hw).astype(bool)

    def describe(self, i: int) -> dict[str, str]:
        """Sample id, object model, category text and image path of sample i, without decoding it."""
        rec = self.index[i]
        return {"sample_id": rec["id"], "object_model": rec["model"], "category": category_text(rec["model"]),
                "image_path": str(self.root / rec["dir"] / f"color_{rec['frame']:06d}.jpg")}

    def load_sample(self, record: dict[str, Any]) -> dict[str, Any]:
        frame_dir = self.root / record["dir"]
        labels = np.load(frame_dir / f"labels_{record['frame']:06d}.npz")
        image = read_image(frame_dir / f"color_{record['frame']:06d}.jpg")
        K = self.intrinsics(record["serial"])
        pose_m = labels["pose_m"][0].astype(np.float32)
        betas = np.asarray(record["betas"], np.float32)
        verts, full_pose = self.mano_forward(pose_m, betas)
        pose = np.eye(4, dtype=np.float32)
        pose[:3] = labels["pose_y"][record["grasp_ind"]]
        seg = labels["seg"]
        if "seg_amodal" in labels:
            amodal = labels["seg_amodal"].astype(bool)
        else:
            amodal = self.amodal_mask(record, pose, K, seg.shape)
        if seg.shape != image.shape[1:]:
            seg = cv2.resize(seg, image.shape[:0:-1], interpolation=cv2.INTER_NEAREST)
        return {S.IMAGE: image, S.K: K, S.JOINTS_CAM: labels["joint_3d"][0].astype(np.float32),
                S.VERTICES_CAM: verts.astype(np.float32), S.OBJECT_POSE: pose,
                S.OBJECT_CATEGORY: category_text(record["model"]), S.OBJECT_MASK: seg == record["ycb_id"],
                S.OBJECT_MASK_AMODAL: amodal, S.HAND_SIDE: "right", S.SEQUENCE_ID: record["id"],
                S.FRAME_ID: record["frame"],
                S.MANO: {S.BETAS: betas, S.POSE: full_pose.astype(np.float32), S.TRANSL: pose_m[48:]},
                "object_model": record["model"]}
