"""BEHAVE loader (Bhatnagar et al. 2022): T-frame clips of one Kinect view with contact pseudo-labels.

On-disk layout (the official release, see docs/contact.md):
`<root>/split.json` {"train": [seq...], "test": [seq...]}; `<root>/sequences/<seq>/info.json` (config,
intrinsic, cat, gender, ... paths relative to the sequence); `<seq>/t*.000/k{kid}.color.jpg`,
`k{kid}.person_mask.jpg`, `k{kid}.obj_rend_mask.jpg` (or `obj_mask`), `person/fit02/person_fit.pkl`
(SMPL-H pose 156, betas 10, trans 3), `<obj>/fit01/<obj>_fit.pkl` (axis-angle `angle`, `trans`);
`<root>/calibs/<Date>/config/<kid>/config.json` (local->world rotation 9, translation 3);
`<root>/calibs/intrinsics/<kid>/calibration.json` ('color': fx, fy, cx, cy, width, height);
`<root>/objects/<obj>/<simplified template>.ply`. Fits live in the world frame.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch.utils.data import Dataset

from contact.labels import contact_pseudo_labels
from contact.meshio import read_ply, sample_surface

SIMPLIFIED_TEMPLATES: dict[str, str] = {
    "backpack": "backpack/backpack_f1000.ply", "basketball": "basketball/basketball_f1000.ply",
    "boxlarge": "boxlarge/boxlarge_f1000.ply", "boxtiny": "boxtiny/boxtiny_f1000.ply",
    "boxlong": "boxlong/boxlong_f1000.ply", "boxsmall": "boxsmall/boxsmall_f1000.ply",
    "boxmedium": "boxmedium/boxmedium_f1000.ply", "chairblack": "chairblack/chairblack_f2500.ply",
    "chairwood": "chairwood/chairwood_f2500.ply", "monitor": "monitor/monitor_closed_f1000.ply",
    "keyboard": "keyboard/keyboard_f1000.ply",
    "plasticcontainer": "plasticcontainer/plasticcontainer_f1000.ply",
    "stool": "stool/stool_f1000.ply", "tablesquare": "tablesquare/tablesquare_f2000.ply",
    "toolbox": "toolbox/toolbox_f1000.ply", "suitcase": "suitcase/suitcase_f1000.ply",
    "tablesmall": "tablesmall/tablesmall_f1000.ply", "yogamat": "yogamat/yogamat_f1000.ply",
    "yogaball": "yogaball/yogaball_f1000.ply", "trashbin": "trashbin/trashbin_f1000.ply",
}
"""Simplified object meshes the object fits were registered with (behave-dataset data/utils.py)."""
DOCS = "docs/contact.md#behave"


class BehaveLayoutError(FileNotFoundError):
    """A BEHAVE file is missing or malformed; the message names it and the docs section."""


def _require(path: Path) -> Path:
    if not path.exists():
        raise BehaveLayoutError(f"BEHAVE layout: missing {path}. Expected the official release layout "
                                f"(split.json, sequences/, calibs/, objects/); see {DOCS}.")
    return path


def read_split(root: Path, split: str) -> list[str]:
    """Sequence names of the official `split.json` ('train' or 'test')."""
    data = json.loads(_require(root / "split.json").read_text())
    if split not in data:
        raise BehaveLayoutError(f"{root / 'split.json'} has keys {sorted(data)}; expected {split!r}")
    return list(data[split])


def read_info(seq_dir: Path) -> dict:
    """info.json of a sequence with the config/intrinsic/empty paths made absolute."""
    info = json.loads(_require(seq_dir / "info.json").read_text())
    for key in ("config", "intrinsic", "empty"):
        if info.get(key) is not None:
            info[key] = str((seq_dir / info[key]).resolve())
    return info


def read_intrinsics(intrinsic_dir: Path, kid: int) -> np.ndarray:
    """Colour-camera K (3,3) in pixels of the full-resolution image of Kinect `kid` (distortion ignored)."""
    color = json.loads(_require(intrinsic_dir / str(kid) / "calibration.json").read_text())["color"]
    return np.array([[color["fx"], 0.0, color["cx"]], [0.0, color["fy"], color["cy"]], [0.0, 0.0, 1.0]])


def read_world_to_camera(config_dir: Path, kid: int) -> tuple[np.ndarray, np.ndarray]:
    """(R (3,3), t (3,)) mapping world points to Kinect `kid`'s colour frame (inverse of config.json)."""
    cfg = json.loads(_require(config_dir / str(kid) / "config.json").read_text())
    rot = np.asarray(cfg["rotation"], dtype=np.float64).reshape(3, 3)
    trans = np.asarray(cfg["translation"], dtype=np.float64)
    return rot.T, -rot.T @ trans


def read_smpl_fit(frame_dir: Path, fit_name: str = "fit02") -> dict[str, np.ndarray]:
    """SMPL-H fit of a frame: pose (156,), betas (10,), trans (3,) in the world frame (m)."""
    with _require(frame_dir / "person" / fit_name / "person_fit.pkl").open("rb") as f:
        fit = pickle.load(f, encoding="latin1")
    return {k: np.asarray(fit[k], dtype=np.float64) for k in ("pose", "betas", "trans")}


def read_object_fit(frame_dir: Path, obj: str, fit_name: str = "fit01") -> tuple[np.ndarray, np.ndarray]:
    """Object fit of a frame: (axis-angle (3,), translation (3,)) in the world frame."""
    with _require(frame_dir / obj / fit_name / f"{obj}_fit.pkl").open("rb") as f:
        fit = pickle.load(f, encoding="latin1")
    return np.asarray(fit["angle"], dtype=np.float64), np.asarray(fit["trans"], dtype=np.float64)


def smplh_to_smpl_pose(pose: np.ndarray) -> np.ndarray:
    """(156,) SMPL-H axis-angles -> (72,) SMPL: 22 body joints kept, the two SMPL hand joints zeroed."""
    return np.concatenate([pose[:66], np.zeros(6)])


def smpl_params_in_camera(fit: dict[str, np.ndarray], body_model: torch.nn.Module, rot: np.ndarray,
                          trans: np.ndarray) -> dict[str, np.ndarray]:
    """SMPL parameters (global_orient, body_pose (69,), betas, transl) of a world-frame SMPL-H fit, re-expressed
    in the camera frame x_cam = rot x_world + trans. SMPL rotates about the rest root joint J0, hence
    transl_cam = rot (J0 + transl) + trans - J0."""
    pose = smplh_to_smpl_pose(fit["pose"])
    betas = torch.as_tensor(fit["betas"][None, :10], dtype=torch.float32)
    with torch.no_grad():
        root = body_model(betas=betas).joints[0, 0].double().numpy()       # rest pose, zero translation
    orient = Rotation.from_matrix(rot @ Rotation.from_rotvec(pose[:3]).as_matrix()).as_rotvec()
    return {"global_orient": orient, "body_pose": pose[3:], "betas": fit["betas"][:10],
            "transl": rot @ (root + fit["trans"]) + trans - root}


def load_object_template(root: Path, obj: str) -> tuple[np.ndarray, np.ndarray]:
    """Simplified template (verts centred on their mean, faces): fits map it by v = R(angle) v + trans."""
    if obj not in SIMPLIFIED_TEMPLATES:
        raise BehaveLayoutError(f"unknown BEHAVE object {obj!r}; known: {sorted(SIMPLIFIED_TEMPLATES)}")
    verts, faces = read_ply(_require(root / "objects" / SIMPLIFIED_TEMPLATES[obj]))
    return verts - verts.mean(axis=0), faces


def pose_object(template_points: np.ndarray, angle: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Template-frame points (N,3) -> world (N,3) with BEHAVE's object fit (axis-angle, translation)."""
    return template_points @ Rotation.from_rotvec(angle).as_matrix().T + trans


def square_crop(image: np.ndarray, mask: np.ndarray, K: np.ndarray, size: int,
                pad: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """Crop a square around the mask's box (side x pad), resize to size; returns (image, K of the crop)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        ys, xs = np.array([0, image.shape[0] - 1]), np.array([0, image.shape[1] - 1])
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    side = max(xs.max() - xs.min(), ys.max() - ys.min(), 8) * pad
    scale = size / side
    affine = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
    crop = cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_AREA)
    return crop, np.vstack([affine, [0, 0, 1]]) @ K


@dataclass
class BehaveClip:
    """Index entry: T consecutive annotated frames of one sequence."""

    seq: str
    frames: list[str]


class BehaveClips(Dataset):
    """T-frame clips of one BEHAVE view: images, K, rough/GT object points, 15-class contact labels.

    Labels come from the GT fits (SMPL `fit02` through `body_model`, object `fit01`); the network input
    points are the same template samples posed by `rough_object_fit` (e.g. a tracker's output written in
    the fit layout) or by the GT fit when None; `rough_smpl_fit` likewise gives the rough body for the
    pipeline. Coordinates are in the chosen Kinect's colour frame (m).
    """

    def __init__(self, root: str | Path, split: str, frames: int, body_model: torch.nn.Module,
                 part_labels: np.ndarray, image_size: int = 64, num_points: int = 256, kid: int = 1,
                 rough_object_fit: str | None = None, rough_smpl_fit: str | None = None, seed: int = 0) -> None:
        self.root = Path(root)
        self.frames, self.kid, self.image_size, self.num_points = frames, kid, image_size, num_points
        self.body_model, self.part_labels = body_model, np.asarray(part_labels)
        self.rough_object_fit, self.rough_smpl_fit, self.seed = rough_object_fit, rough_smpl_fit, seed
        self.clips = self.build_index(read_split(self.root, split))
        self._templates: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def build_index(self, sequences: list[str]) -> list[BehaveClip]:
        """Non-overlapping windows of `frames` frames with both GT fits present, per sequence."""
        clips = []
        for seq in sequences:
            seq_dir = _require(self.root / "sequences" / seq)
            obj = read_info(seq_dir)["cat"]
            usable = [d.name for d in sorted(seq_dir.glob("t*.000"))
                      if (d / "person" / "fit02" / "person_fit.pkl").exists()
                      and (d / obj / "fit01" / f"{obj}_fit.pkl").exists()]
            clips += [BehaveClip(seq, usable[i:i + self.frames])
                      for i in range(0, len(usable) - self.frames + 1, self.frames)]
        if not clips:
            raise BehaveLayoutError(f"no {self.frames}-frame clip with fit02/fit01 fits under {self.root}; "
                                    f"see {DOCS}")
        return clips

    def __len__(self) -> int:
        return len(self.clips)

    def _template_points(self, obj: str) -> np.ndarray:
        if obj not in self._templates:
            verts, faces = load_object_template(self.root, obj)
            self._templates[obj] = (verts, faces)
        verts, faces = self._templates[obj]
        return sample_surface(verts, faces, self.num_points, np.random.default_rng(self.seed))

    def body_vertices(self, fit: dict[str, np.ndarray]) -> np.ndarray:
        """World-frame (6890,3) vertices of a BEHAVE SMPL-H fit through the SMPL body model."""
        pose = torch.as_tensor(smplh_to_smpl_pose(fit["pose"]), dtype=torch.float32)[None]
        out = self.body_model(global_orient=pose[:, :3], body_pose=pose[:, 3:],
                              betas=torch.as_tensor(fit["betas"][None, :10], dtype=torch.float32),
                              transl=torch.as_tensor(fit["trans"][None], dtype=torch.float32))
        return out.vertices[0].detach().numpy().astype(np.float64)

    def _frame(self, seq_dir: Path, frame: str, info: dict, points: np.ndarray) -> dict[str, np.ndarray]:
        frame_dir = seq_dir / frame
        obj = info["cat"]
        rot, trans = read_world_to_camera(Path(info["config"]), self.kid)
        K = read_intrinsics(Path(info["intrinsic"]), self.kid)
        smpl_fit = read_smpl_fit(frame_dir)
        verts_cam = self.body_vertices(smpl_fit) @ rot.T + trans
        gt_obj = pose_object(points, *read_object_fit(frame_dir, obj)) @ rot.T + trans
        rough_fit = self.rough_object_fit or "fit01"
        rough_obj = pose_object(points, *read_object_fit(frame_dir, obj, rough_fit)) @ rot.T + trans
        labels, _ = contact_pseudo_labels(gt_obj, verts_cam, self.part_labels)
        image = cv2.imread(str(_require(frame_dir / f"k{self.kid}.color.jpg")))[:, :, ::-1]
        mask = np.zeros(image.shape[:2], dtype=bool)
        for kind in ("person_mask", "obj_rend_mask", "obj_mask"):
            name = f"k{self.kid}.{kind}.jpg"
            if (frame_dir / name).exists():
                mask |= cv2.imread(str(frame_dir / name), cv2.IMREAD_GRAYSCALE) > 127
        crop, K_crop = square_crop(image, mask, K, self.image_size)
        gt_params = smpl_params_in_camera(smpl_fit, self.body_model, rot, trans)
        rough_params = (gt_params if self.rough_smpl_fit is None else smpl_params_in_camera(
            read_smpl_fit(frame_dir, self.rough_smpl_fit), self.body_model, rot, trans))
        params = {f"gt_{k}": gt_params[k] for k in ("global_orient", "body_pose", "transl")}
        params.update({f"rough_{k}": rough_params[k] for k in ("global_orient", "body_pose", "transl")})
        params["betas"] = gt_params["betas"]
        return {**params, "image": crop.transpose(2, 0, 1).astype(np.float32) / 255.0, "K": K_crop,
                "object_points": rough_obj, "gt_object_points": gt_obj, "labels": labels,
                "body_verts": verts_cam}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        """Clip dict: images (T,3,S,S) [0,1], K (T,3,3), object_points/gt_object_points (T,N,3) m camera
        frame, labels (T,N) int64, body_verts (T,6890,3) GT, camera-frame SMPL parameters gt_*/rough_*
        (global_orient (T,3), body_pose (T,69), transl (T,3)), betas (T,10), sequence_id."""
        clip = self.clips[index]
        seq_dir = self.root / "sequences" / clip.seq
        info = read_info(seq_dir)
        points = self._template_points(info["cat"])
        frames = [self._frame(seq_dir, f, info, points) for f in clip.frames]
        out: dict[str, torch.Tensor | str] = {
            "images": torch.as_tensor(np.stack([f["image"] for f in frames])),
            "labels": torch.as_tensor(np.stack([f["labels"] for f in frames])),
            "sequence_id": clip.seq}
        for key in ("K", "object_points", "gt_object_points", "body_verts", "gt_global_orient", "gt_body_pose",
                    "gt_transl", "rough_global_orient", "rough_body_pose", "rough_transl", "betas"):
            out[key] = torch.as_tensor(np.stack([f[key] for f in frames]), dtype=torch.float32)
        return out
