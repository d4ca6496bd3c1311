"""BEHAVE reader (Bhatnagar et al. 2022) shared by both halves of the paper: layout, fits, test protocol.

Official release layout (behave-dataset README, data/frame_data.py): `<root>/split.json`,
`<root>/sequences/<seq>/info.json` (config, intrinsic, cat, gender, ...; paths relative to the sequence),
`<seq>/t<seconds>.000/` frame folders with `k{kid}.color.jpg`, masks, `k{kid}.color.json` (OpenPose),
`person/fit02/person_fit.pkl` (SMPL-H: pose 156, betas 10, trans 3; world frame) and
`<obj name>/fit01/<obj name>_fit.pkl` (axis-angle `angle`, `trans`), where <obj name> is
`SeqInfo.get_obj_name(convert=True)`: `chair` for chair* categories, `sports ball` for *ball* categories;
`<root>/calibs/<Date>/config/<kid>/config.json` (local->world), `calibs/intrinsics/<kid>/calibration.json`.
Rough inputs are VisTracker/CHORE packed outputs `<recon_dir>/<seq>_k<kid>.pkl` (joblib; frames, poses,
betas, trans, obj_angles (L,3,3) applied as v @ R, obj_trans, obj_scales, optional recon_exist).
"""

from __future__ import annotations

import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import cv2
import joblib
import numpy as np

log = logging.getLogger(__name__)
DOCS = "docs/contact.md#behave"
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
MIN_VISIBLE = 0.3
"""CHORE test protocol: skip a frame whose visible object mask is below 30% of the full (unoccluded) mask."""
OPENPOSE_MIDHIP, OPENPOSE_HIPS = 8, (9, 12)
"""BODY_25 indices of the root (mid hip) and of the two hips (fallback when the mid hip is not detected)."""


class BehaveLayoutError(FileNotFoundError):
    """A BEHAVE file is missing or malformed; the message names it and the docs section."""


def require(path: Path) -> Path:
    """`path` if it exists, else BehaveLayoutError naming it."""
    if not path.exists():
        raise BehaveLayoutError(f"BEHAVE layout: missing {path}. Expected the official release layout "
                                f"(split.json, sequences/, calibs/, objects/); see {DOCS}.")
    return path


def read_split(root: Path, split: str) -> list[str]:
    """Sequence names of the official `split.json` ('train' or 'test')."""
    data = json.loads(require(root / "split.json").read_text())
    if split not in data:
        raise BehaveLayoutError(f"{root / 'split.json'} has keys {sorted(data)}; expected {split!r}")
    return list(data[split])


def read_info(seq_dir: Path) -> dict:
    """info.json of a sequence with the config/intrinsic/empty paths made absolute."""
    info = json.loads(require(seq_dir / "info.json").read_text())
    for key in ("config", "intrinsic", "empty"):
        if info.get(key) is not None:
            info[key] = str((seq_dir / info[key]).resolve())
    return info


def object_fit_name(category: str) -> str:
    """Folder name of a category's object fits: behave-dataset `SeqInfo.get_obj_name(convert=True)`."""
    if "chair" in category:
        return "chair"
    if "ball" in category:
        return "sports ball"
    return category


def object_fit_file(frame_dir: Path, category: str, fit_name: str = "fit01") -> Path | None:
    """`<obj>/<fit>/<obj>_fit.pkl` with the converted name, else the category name (as the dataset's
    FrameDataReader.objfit_meshfile falls back); None when neither exists."""
    for name in dict.fromkeys((object_fit_name(category), category)):
        path = frame_dir / name / fit_name / f"{name}_fit.pkl"
        if path.is_file():
            return path
    return None


def frame_time(name: str) -> float:
    """Seconds of a frame folder name `t0003.000` (BEHAVE names frames by capture time)."""
    return float(name[1:])


def consecutive_runs(frames: list[str]) -> list[list[str]]:
    """Split sorted frame names into runs without gaps: consecutive frames are at most 1.5x the sequence's
    typical (median) spacing apart, so a missing annotation (t0005 -> t0007 at 1 fps) ends a run."""
    if len(frames) < 2:
        return [list(frames)] if frames else []
    times = np.array([frame_time(f) for f in frames])
    step = float(np.median(np.diff(times)))
    runs, current = [], [frames[0]]
    for name, t_prev, t in zip(frames[1:], times, times[1:]):
        if t - t_prev > 1.5 * step:
            runs.append(current)
            current = []
        current.append(name)
    runs.append(current)
    return runs


def annotated_frames(seq_dir: Path, category: str, smpl_fit: str = "fit02", obj_fit: str = "fit01") -> list[str]:
    """Sorted frame folders of a sequence with both ground-truth fits."""
    return [d.name for d in sorted(seq_dir.glob("t*.000"))
            if (d / "person" / smpl_fit / "person_fit.pkl").is_file() and object_fit_file(d, category, obj_fit)]


def read_intrinsics(intrinsic_dir: Path, kid: int) -> np.ndarray:
    """Colour-camera K (3,3) in pixels of the full-resolution image of Kinect `kid` (distortion ignored)."""
    color = json.loads(require(intrinsic_dir / str(kid) / "calibration.json").read_text())["color"]
    return np.array([[color["fx"], 0.0, color["cx"]], [0.0, color["fy"], color["cy"]], [0.0, 0.0, 1.0]])


def read_world_to_camera(config_dir: Path, kid: int) -> tuple[np.ndarray, np.ndarray]:
    """(R (3,3), t (3,)) mapping world points to Kinect `kid`'s colour frame (inverse of config.json)."""
    cfg = json.loads(require(config_dir / str(kid) / "config.json").read_text())
    rot = np.asarray(cfg["rotation"], dtype=np.float64).reshape(3, 3)
    trans = np.asarray(cfg["translation"], dtype=np.float64)
    return rot.T, -rot.T @ trans


def read_fields(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """float64 arrays `keys` of a fit pickle; a corrupt file or a missing field is an error naming both."""
    try:
        with require(path).open("rb") as f:
            data = pickle.load(f, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise BehaveLayoutError(f"{path}: unreadable fit pickle ({type(err).__name__}: {err})") from err
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise BehaveLayoutError(f"{path}: field(s) {missing} missing (found: {found})")
    return {k: np.asarray(data[k], dtype=np.float64) for k in keys}


def read_smpl_fit(frame_dir: Path, fit_name: str = "fit02") -> dict[str, np.ndarray]:
    """SMPL-H fit of a frame: pose (156,), betas (10,), trans (3,) in the world frame (m)."""
    out = read_fields(frame_dir / "person" / fit_name / "person_fit.pkl", ("pose", "betas", "trans"))
    if out["pose"].shape != (156,):
        raise BehaveLayoutError(f"{frame_dir / 'person' / fit_name / 'person_fit.pkl'}: field 'pose' has shape "
                                f"{out['pose'].shape}; BEHAVE fits are SMPL-H (156,)")
    return out


def read_object_fit(frame_dir: Path, category: str, fit_name: str = "fit01") -> tuple[np.ndarray, np.ndarray]:
    """Object fit of a frame: (axis-angle (3,), translation (3,)) in the world frame."""
    path = object_fit_file(frame_dir, category, fit_name)
    if path is None:
        name = object_fit_name(category)
        raise BehaveLayoutError(f"BEHAVE layout: missing {frame_dir / name / fit_name / (name + '_fit.pkl')} "
                                f"(object fits are stored under SeqInfo.get_obj_name(convert=True)); see {DOCS}")
    fit = read_fields(path, ("angle", "trans"))
    return fit["angle"], fit["trans"]


def template_file(root: Path, category: str) -> Path:
    """Simplified template mesh of a category (the mesh the fits were registered with)."""
    if category not in SIMPLIFIED_TEMPLATES:
        raise BehaveLayoutError(f"unknown BEHAVE object {category!r}; known: {sorted(SIMPLIFIED_TEMPLATES)}")
    return require(root / "objects" / SIMPLIFIED_TEMPLATES[category])


def read_root_2d(frame_dir: Path, kid: int, min_score: float = 0.1) -> np.ndarray:
    """(2,) OpenPose root (BODY_25 mid hip, else the hips' mean) in pixels of `k{kid}.color.json`; BEHAVE
    stores a flat `body_joints` list (x, y, score per joint), plain OpenPose `people[0].pose_keypoints_2d`."""
    path = require(frame_dir / f"k{kid}.color.json")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise BehaveLayoutError(f"{path}: not valid JSON ({err})") from err
    flat = data["body_joints"] if "body_joints" in data else (
        data["people"][0]["pose_keypoints_2d"] if data.get("people") else None)
    if flat is None:
        raise BehaveLayoutError(f"{path}: no 'body_joints' or 'people[0].pose_keypoints_2d' field")
    joints = np.asarray(flat, dtype=np.float64).reshape(-1, 3)
    if joints[OPENPOSE_MIDHIP, 2] >= min_score:
        return joints[OPENPOSE_MIDHIP, :2]
    hips = joints[list(OPENPOSE_HIPS)]
    if (hips[:, 2] >= min_score).all():
        return hips[:, :2].mean(axis=0)
    raise BehaveLayoutError(f"{path}: root (BODY_25 joint {OPENPOSE_MIDHIP}) and hips undetected "
                            f"(score < {min_score})")


def _mask_pixels(frame_dir: Path, stem: str) -> int | None:
    """Pixel count of a mask image `<stem>.png|jpg` (> 127), None when absent."""
    for ext in ("png", "jpg"):
        path = frame_dir / f"{stem}.{ext}"
        if path.is_file():
            return int((cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127).sum())
    return None


def visible_object_ratio(frame_dir: Path, kid: int) -> float | None:
    """Visible / full object-mask pixels (`obj_rend_mask` over `obj_rend_full`); None if a mask is missing."""
    visible, full = _mask_pixels(frame_dir, f"k{kid}.obj_rend_mask"), _mask_pixels(frame_dir, f"k{kid}.obj_rend_full")
    if visible is None or full is None:
        return None
    return visible / full if full > 0 else 0.0


def chore_test_frames(root: Path, split: str = "test", kid: int = 1,
                      min_visible: float = MIN_VISIBLE) -> list[tuple[str, str]]:
    """(sequence, frame) pairs of the CHORE protocol: camera `kid`, 1 fps (t*.000 frames with GT fits),
    object visible >= `min_visible` of its full mask. Frames without the masks are dropped and counted."""
    out, occluded, no_mask = [], 0, 0
    for seq in read_split(root, split):
        seq_dir = require(root / "sequences" / seq)
        for frame in annotated_frames(seq_dir, read_info(seq_dir)["cat"]):
            ratio = visible_object_ratio(seq_dir / frame, kid)
            if ratio is None:
                no_mask += 1
            elif ratio < min_visible:
                occluded += 1
            else:
                out.append((seq, frame))
    log.info("CHORE protocol on %s/%s k%d: %d frames scored, %d occluded (< %.0f%% visible), %d without "
             "obj_rend_mask/obj_rend_full", root, split, kid, len(out), occluded, 100 * min_visible, no_mask)
    if not out:
        raise BehaveLayoutError(f"no {split} frame of {root} passes the CHORE protocol (k{kid}, fits, "
                                f"obj_rend_mask/obj_rend_full masks, >= {min_visible:.0%} visible); see {DOCS}")
    return out


@dataclass
class PackedRecon:
    """One sequence of VisTracker/CHORE outputs (camera frame of the test Kinect, metres)."""

    frames: list[str]
    poses: np.ndarray          # (L,156) SMPL-H or (L,72) SMPL axis-angles
    betas: np.ndarray          # (L,10)
    trans: np.ndarray          # (L,3)
    obj_rot: np.ndarray        # (L,3,3): object vertices = (template @ obj_rot + obj_trans) * obj_scale
    obj_trans: np.ndarray      # (L,3)
    obj_scale: np.ndarray      # (L,)
    exists: np.ndarray         # (L,) bool

    def index(self, frame: str) -> int | None:
        """Row of a frame name, None if the tracker has no output for it."""
        try:
            i = self.frames.index(frame)
        except ValueError:
            return None
        return i if self.exists[i] else None


def read_packed_recon(recon_dir: Path, seq: str, kid: int = 1) -> PackedRecon:
    """`<recon_dir>/<seq>_k<kid>.pkl` as VisTracker's evalvideo_packed.py reads it (joblib)."""
    path = recon_dir / f"{seq}_k{kid}.pkl"
    if not path.is_file():
        raise BehaveLayoutError(f"rough fits: missing {path} (VisTracker/CHORE packed output, "
                                f"`recon_<save_name>/<seq>_k<kid>.pkl`); set data.rough_dir; see {DOCS}")
    try:
        data = joblib.load(path)
    except Exception as err:  # joblib raises many types (pickle, zlib, EOF) for a damaged file
        raise BehaveLayoutError(f"{path}: unreadable VisTracker/CHORE packed file "
                                f"({type(err).__name__}: {err})") from err
    if not isinstance(data, dict):
        raise BehaveLayoutError(f"{path}: expected a dict of arrays, got {type(data).__name__}")
    for key in ("frames", "poses", "betas", "trans", "obj_angles", "obj_trans"):
        if key not in data:
            raise BehaveLayoutError(f"{path}: field {key!r} missing (keys: {sorted(data)})")
    length = len(data["frames"])
    poses = np.asarray(data["poses"], dtype=np.float64).reshape(length, -1)
    if poses.shape[1] not in (72, 156):
        raise BehaveLayoutError(f"{path}: field 'poses' has {poses.shape[1]} values per frame; expected 156 "
                                "(SMPL-H) or 72 (SMPL)")
    obj_rot = np.asarray(data["obj_angles"], dtype=np.float64)
    if obj_rot.shape != (length, 3, 3):
        raise BehaveLayoutError(f"{path}: field 'obj_angles' has shape {obj_rot.shape}; expected ({length},3,3)")
    scale = np.asarray(data.get("obj_scales", np.ones(length)), dtype=np.float64).reshape(length)
    exists = np.asarray(data.get("recon_exist", np.ones(length, dtype=bool)), dtype=bool).reshape(length)
    return PackedRecon([str(f) for f in data["frames"]], poses, np.asarray(data["betas"], np.float64).reshape(
        length, -1)[:, :10], np.asarray(data["trans"], np.float64).reshape(length, 3), obj_rot,
        np.asarray(data["obj_trans"], np.float64).reshape(length, 3), scale, exists)
