"""BEHAVE clips for CRRNet (Bhatnagar et al. 2022): T consecutive frames of one Kinect view with contact labels.

File reading, object-fit names (SeqInfo.get_obj_name(convert=True)), gap detection, SMPL-H bodies and the
tracker outputs live in `kinematics.behave` (shared with the refinement stage). Clips never bridge an
annotation gap: training clips are non-overlapping T-frame windows inside gap-free runs; a scored test frame
gets the T-window centred on it inside its run, the run's edge frame repeated where the run is too short
(documented policy, docs/contact.md#behave).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch.utils.data import Dataset

from common.geometry.meshes import read_mesh, sample_surface
from kinematics.behave import (
    DOCS,
    BehaveLayoutError,
    PackedRecon,
    annotated_frames,
    consecutive_runs,
    read_info,
    read_intrinsics,
    read_object_fit,
    read_packed_recon,
    read_smpl_fit,
    read_split,
    read_world_to_camera,
    require,
    template_file,
)
from kinematics.behave_frames import smplh_params_in_camera
from kinematics.contacts import contact_pseudo_labels
from kinematics.smplh_standin import behave_body

__all__ = ["DOCS", "BehaveClip", "BehaveClips", "BehaveLayoutError", "centred_window", "square_crop"]


def square_crop(image: np.ndarray, mask: np.ndarray, K: np.ndarray, size: int,
                pad: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """Crop a square around the mask's box (side x pad), resize to size; returns (image, K of the crop)."""
    x0, y0, w, h = cv2.boundingRect(mask.astype(np.uint8))         # (no per-pixel index arrays: issue 23)
    if w == 0:
        x0, y0, w, h = 0, 0, image.shape[1], image.shape[0]
    cx, cy = x0 + (w - 1) / 2, y0 + (h - 1) / 2
    side = max(w - 1, h - 1, 8) * pad
    scale = size / side
    affine = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
    crop = cv2.warpAffine(image, affine, (size, size), flags=cv2.INTER_AREA)
    return crop, np.vstack([affine, [0, 0, 1]]) @ K


@dataclass
class BehaveClip:
    """Index entry: T frames of one sequence (consecutive annotated frames; edge frames may repeat)."""

    seq: str
    frames: list[str]


def centred_window(run: list[str], frame: str, frames: int) -> list[str]:
    """The `frames`-frame window of a gap-free run centred on `frame`, edge frames repeated at the run ends."""
    i, half = run.index(frame), frames // 2
    return [run[min(max(k, 0), len(run) - 1)] for k in range(i - half, i - half + frames)]


class BehaveClips(Dataset):
    """T-frame clips of one BEHAVE view: images, K, object points, 15-class contact labels, bodies.

    Labels come from the GT fits (SMPL-H `fit02` through the subject's gendered SMPL-H, object `fit01`);
    the network input points are template samples posed by the tracker's output when `rough_dir` is given
    (VisTracker/CHORE packed files), else by the GT fit. Coordinates: the Kinect's colour frame (m).
    `windows` (test protocol) replaces the default index of non-overlapping training windows.
    """

    def __init__(self, root: str | Path, split: str, frames: int, part_labels: np.ndarray, *,
                 body_models: str | None, smplh_standin: bool, cache_dir: Path, image_size: int = 64,
                 num_points: int = 256, kid: int = 1, rough_dir: str | Path | None = None, seed: int = 0,
                 windows: list[BehaveClip] | None = None) -> None:
        self.root = Path(root)
        self.frames, self.kid, self.image_size, self.num_points = frames, kid, image_size, num_points
        self.part_labels, self.seed = np.asarray(part_labels), seed
        self.bodies = {g: behave_body(body_models, g, smplh_standin, Path(cache_dir)) for g in ("male", "female")}
        self.rough_dir = None if rough_dir is None else Path(rough_dir)
        self.clips = windows if windows is not None else self.build_index(read_split(self.root, split))
        self._templates: dict[str, np.ndarray] = {}
        self._packed: dict[str, PackedRecon] = {}

    def runs(self, seq: str) -> list[list[str]]:
        """Gap-free runs of annotated frames of a sequence."""
        seq_dir = require(self.root / "sequences" / seq)
        return consecutive_runs(annotated_frames(seq_dir, read_info(seq_dir)["cat"]))

    def build_index(self, sequences: list[str]) -> list[BehaveClip]:
        """Non-overlapping windows of `frames` frames inside gap-free runs, per sequence."""
        clips = [BehaveClip(seq, run[i:i + self.frames]) for seq in sequences for run in self.runs(seq)
                 for i in range(0, len(run) - self.frames + 1, self.frames)]
        if not clips:
            raise BehaveLayoutError(f"no {self.frames}-frame gap-free clip with fit02/fit01 fits under {self.root}; "
                                    f"see {DOCS}")
        return clips

    def test_windows(self, keys: list[tuple[str, str]]) -> list[BehaveClip]:
        """The centred window of every scored (sequence, frame)."""
        runs = {seq: self.runs(seq) for seq in dict.fromkeys(s for s, _ in keys)}
        return [BehaveClip(seq, centred_window(next(r for r in runs[seq] if frame in r), frame, self.frames))
                for seq, frame in keys]

    def __len__(self) -> int:
        return len(self.clips)

    def _template_points(self, category: str) -> np.ndarray:
        if category not in self._templates:
            verts, faces = read_mesh(template_file(self.root, category))
            self._templates[category] = sample_surface(verts - verts.mean(axis=0), faces, self.num_points,
                                                       np.random.default_rng(self.seed))
        return self._templates[category]

    def _rough_points(self, seq: str, frame: str, points: np.ndarray) -> np.ndarray | None:
        """Template points posed by the tracker's object output (camera frame), None without rough_dir."""
        if self.rough_dir is None:
            return None
        if seq not in self._packed:
            self._packed[seq] = read_packed_recon(self.rough_dir, seq, self.kid)
        rec = self._packed[seq]
        row = rec.index(frame)
        if row is None:
            raise BehaveLayoutError(f"{self.rough_dir}/{seq}_k{self.kid}.pkl has no output for frame {frame}")
        return (points @ rec.obj_rot[row] + rec.obj_trans[row]) * rec.obj_scale[row]

    def _frame(self, seq: str, frame: str, info: dict, points: np.ndarray) -> dict[str, np.ndarray]:
        frame_dir = self.root / "sequences" / seq / frame
        category, gender = info["cat"], str(info["gender"]).lower()
        rot, trans = read_world_to_camera(Path(info["config"]), self.kid)
        K = read_intrinsics(Path(info["intrinsic"]), self.kid)
        fit = read_smpl_fit(frame_dir)
        gt = smplh_params_in_camera(fit["pose"], fit["betas"], fit["trans"], self.bodies[gender], rot, trans)
        with torch.no_grad():
            out = self.bodies[gender](
                global_orient=torch.as_tensor(gt["global_orient"][None], dtype=torch.float32),
                body_pose=torch.as_tensor(gt["body_pose"][None], dtype=torch.float32),
                left_hand_pose=torch.as_tensor(gt["hands"][None, :45], dtype=torch.float32),
                right_hand_pose=torch.as_tensor(gt["hands"][None, 45:], dtype=torch.float32),
                betas=torch.as_tensor(gt["betas"][None], dtype=torch.float32),
                transl=torch.as_tensor(gt["transl"][None], dtype=torch.float32))
        verts_cam = out.vertices[0].double().numpy()
        angle, obj_trans = read_object_fit(frame_dir, category)
        gt_obj = points @ (rot @ Rotation.from_rotvec(angle).as_matrix()).T + rot @ obj_trans + trans
        rough_obj = self._rough_points(seq, frame, points)
        labels, _ = contact_pseudo_labels(gt_obj, verts_cam, self.part_labels)
        image = cv2.imread(str(require(frame_dir / f"k{self.kid}.color.jpg")))[:, :, ::-1]
        mask = np.zeros(image.shape[:2], dtype=bool)
        for kind in ("person_mask", "obj_rend_mask", "obj_mask"):
            name = f"k{self.kid}.{kind}.jpg"
            if (frame_dir / name).exists():
                mask |= cv2.imread(str(frame_dir / name), cv2.IMREAD_GRAYSCALE) > 127
        crop, K_crop = square_crop(image, mask, K, self.image_size)
        return {"image": crop.transpose(2, 0, 1).astype(np.float32) / 255.0, "K": K_crop,
                "object_points": gt_obj if rough_obj is None else rough_obj, "gt_object_points": gt_obj,
                "labels": labels, "body_verts": verts_cam, "gt_global_orient": gt["global_orient"],
                "gt_body_pose": gt["body_pose"], "gt_transl": gt["transl"], "betas": gt["betas"]}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        """Clip dict: images (T,3,S,S) [0,1], K (T,3,3) of the crop, object_points/gt_object_points (T,N,3) m
        camera frame, labels (T,N) int64, body_verts (T,6890,3) GT, camera-frame SMPL-H parameters gt_*
        (global_orient (T,3), body_pose (T,63), transl (T,3)), betas (T,10), sequence_id."""
        clip = self.clips[index]
        info = read_info(self.root / "sequences" / clip.seq)
        points = self._template_points(info["cat"])
        frames = [self._frame(clip.seq, f, info, points) for f in clip.frames]
        out: dict[str, torch.Tensor | str] = {
            "images": torch.as_tensor(np.stack([f["image"] for f in frames])),
            "labels": torch.as_tensor(np.stack([f["labels"] for f in frames])),
            "sequence_id": clip.seq}
        for key in ("K", "object_points", "gt_object_points", "body_verts", "gt_global_orient", "gt_body_pose",
                    "gt_transl", "betas"):
            out[key] = torch.as_tensor(np.stack([f[key] for f in frames]), dtype=torch.float32)
        return out
