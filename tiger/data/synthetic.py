"""Synthetic hand-object scenes written in a DexYCB-like layout (the embedded default data of TIGeR).

A stand-in MANO right hand (`common.body.load_mano`) touches a primitive object whose shape varies within
its category (`common.data.synthetic.make_object`), so a category prior is close but never exact. Each
sequence is one grasp (one object instance, one subject's hand shape); every written frame (ids 0, 5, 10,
...) and camera shows it from another viewpoint. Files follow `tiger.data.dexycb` (labels npz with seg,
pose_y, pose_m as 45 PCA coefficients, joint_3d, joint_2d), plus two synthetic-only additions:
`seg_amodal` (object mask ignoring the hand) in each labels npz and `models/classes.txt` (model names by id).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from common.cache import cached_dir
from common.data.render import merge_meshes, rasterize, render_mesh
from common.geometry.meshes import write_mesh
from tiger.data.dexycb import FRAME_STEP, MODEL_CLASSES_FILE, SERIALS, SUBJECTS

log = logging.getLogger(__name__)

SKIN_RGB = (0.87, 0.68, 0.58)
OBJECT_RGB: tuple[tuple[float, float, float], ...] = (
    (0.85, 0.15, 0.12), (0.15, 0.7, 0.2), (0.15, 0.3, 0.85), (0.95, 0.85, 0.15), (0.55, 0.2, 0.7),
    (0.95, 0.5, 0.1), (0.3, 0.3, 0.3))
PALM_IDS = (0, 5, 9, 13, 17)
SPEC_FILE = "synthetic_spec.json"
"""Written last under the root: the scene spec of a complete synthetic set (an existing set is reused)."""
LAYOUT_VERSION = 3
"""Bump when the writer changes what it writes (2: the toolkit's subject names; 3: object meshes written by
trimesh with 8 significant digits, which moves the sampled GT surface points and so every CD/F-score)."""


@dataclass
class SceneSpec:
    """Size and camera of the synthetic set (s0 split rules then pick train/val/test sequences)."""

    num_subjects: int = 5
    sequences_per_subject: int = 10
    cameras: int = 2
    frames_per_sequence: int = 4
    image_hw: list[int] = field(default_factory=lambda: [120, 160])
    focal: float = 200.0
    categories: list[str] = field(default_factory=lambda: ["box", "cylinder", "can", "bottle", "sphere", "mug"])
    seed: int = 0


def _row(values: np.ndarray) -> torch.Tensor:
    """(1,D) float32 tensor of a parameter vector."""
    return torch.as_tensor(np.asarray(values, np.float32)[None])


def _background(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    """Smooth random colour gradient with noise (H,W,3) uint8."""
    h, w = hw
    c0, c1 = rng.uniform(20, 200, 3), rng.uniform(20, 200, 3)
    t = np.linspace(0, 1, w)[None, :, None] * np.ones((h, 1, 1))
    img = c0 * (1 - t) + c1 * t + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _frame_from_axes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Orthonormal 3x3 frame whose columns are `first`, the part of `second` orthogonal to it, and their cross."""
    a = first / np.linalg.norm(first)
    b = second - a * (a @ second)
    b /= np.linalg.norm(b)
    return np.stack([a, b, np.cross(a, b)], 1)


class GraspSceneWriter:
    """Composes, renders and writes the synthetic scenes."""

    def __init__(self, spec: SceneSpec) -> None:
        from common.body import load_mano

        self.spec = spec
        self.mano = load_mano(is_rhand=True, flat_hand_mean=False, num_pca_comps=45)
        self.components = np.asarray(self.mano.np_hand_components, np.float64)

    def _mano(self, go: np.ndarray, hand_pose: np.ndarray, betas: np.ndarray, transl: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """MANO vertices (778,3) and 21 joints (m) for hand_pose relative to the model's mean pose."""
        from common.body import mano_joints21

        with torch.no_grad():
            out = self.mano(global_orient=_row(go), hand_pose=_row(hand_pose), betas=_row(betas),
                            transl=_row(transl))
            joints = mano_joints21(out, self.mano)
        return out.vertices[0].numpy().astype(np.float64), joints[0].numpy().astype(np.float64)

    def grasp(self, rng: np.random.Generator, obj_points: np.ndarray, betas: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hand (global orient, relative hand pose, transl) touching the object, in the object frame."""
        hand_pose = rng.normal(0.0, 0.2, 45)
        _, joints = self._mano(np.zeros(3), hand_pose, betas, np.zeros(3))
        normal = np.cross(joints[5] - joints[0], joints[17] - joints[0])
        source = _frame_from_axes(normal, joints[9] - joints[0])
        phi = rng.uniform(0, 2 * np.pi)
        target = _frame_from_axes(np.array([-1.0, 0.0, 0.0]), np.array([0.0, np.cos(phi), np.sin(phi)]))
        go = Rotation.from_matrix(target @ source.T).as_rotvec()
        verts, joints = self._mano(go, hand_pose, betas, np.zeros(3))
        palm = joints[list(PALM_IDS)].mean(0)
        height = np.ptp(obj_points[:, 2])
        anchor = np.array([np.abs(obj_points[:, 0]).max() + 0.12, 0.0, rng.uniform(-0.3, 0.3) * height])
        tree = cKDTree(obj_points)
        offset = anchor - palm
        for step in (0.004, 0.0005):
            while tree.query(verts + offset)[0].min() > (0.006 if step > 0.001 else 0.003):
                offset[0] -= step
            offset[0] += step if step > 0.001 else 0.0
        return go, hand_pose, offset

    def write(self, root: Path) -> None:
        """Write every subject, sequence, camera and frame, the models, calibration and classes list."""
        spec, hw = self.spec, tuple(self.spec.image_hw)
        from common.data.synthetic import make_object

        K = np.array([[spec.focal, 0, hw[1] / 2], [0, spec.focal, hw[0] / 2], [0, 0, 1]])
        serials = SERIALS[:spec.cameras]
        for serial in serials:
            path = root / "calibration" / "intrinsics" / f"{serial}_640x480.yml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump({"color": {"fx": float(K[0, 0]), "fy": float(K[1, 1]),
                                                      "ppx": float(K[0, 2]), "ppy": float(K[1, 2])}}))
        classes: list[str] = []
        for s in range(spec.num_subjects):
            subject = SUBJECTS[s]
            calib = f"{subject}_right"
            betas = np.random.default_rng([spec.seed, s]).normal(0.0, 0.5, 10)
            calib_path = root / "calibration" / f"mano_{calib}" / "mano.yml"
            calib_path.parent.mkdir(parents=True, exist_ok=True)
            calib_path.write_text(yaml.safe_dump({"betas": [float(b) for b in betas]}))
            for q in range(spec.sequences_per_subject):
                rng = np.random.default_rng([spec.seed, s, q, 1])
                category = spec.categories[(s * spec.sequences_per_subject + q) % len(spec.categories)]
                verts, faces, points = make_object(category, rng)
                name = f"{100 + len(classes):03d}_{category}"
                classes.append(name)
                write_mesh(root / "models" / name / "textured_simple.obj", verts, faces)
                seq_dir = root / subject / f"{subject[:8]}_{100000 + q * 137:06d}"
                go, hand_pose, transl = self.grasp(rng, points.astype(np.float64), betas)
                color = OBJECT_RGB[rng.integers(len(OBJECT_RGB))]
                for serial in serials:
                    for f in range(spec.frames_per_sequence):
                        self._write_frame(seq_dir / serial, f * FRAME_STEP, rng, K, hw, (verts, faces), color,
                                          len(classes), (go, hand_pose, transl, betas))
                meta = {"num_frames": spec.frames_per_sequence * FRAME_STEP, "ycb_ids": [len(classes)],
                        "ycb_grasp_ind": 0, "mano_sides": ["right"], "mano_calib": [calib],
                        "serials": list(serials)}
                (seq_dir / "meta.yml").write_text(yaml.safe_dump(meta))
        (root / MODEL_CLASSES_FILE).write_text("\n".join(classes) + "\n")

    def _write_frame(self, out_dir: Path, frame: int, rng: np.random.Generator, K: np.ndarray,
                     hw: tuple[int, int], mesh: tuple[np.ndarray, np.ndarray], color: tuple[float, ...],
                     obj_id: int, hand: tuple[np.ndarray, ...]) -> None:
        go, hand_pose, transl, betas = hand
        tilt = Rotation.from_euler("xz", rng.uniform(-35, 35, 2), degrees=True).as_matrix()
        yaw = Rotation.from_euler("z", rng.uniform(0, 360), degrees=True).as_matrix()
        base = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # object +z (up) -> camera -y
        rot = tilt @ base @ yaw
        rest_wrist = self._mano(np.zeros(3), -self._mean(), betas, np.zeros(3))[1][0]
        _, joints_obj = self._mano(go, hand_pose, betas, transl)
        centre = 0.5 * joints_obj[list(PALM_IDS)].mean(0)
        trans = np.array([*rng.uniform(-0.02, 0.02, 2), rng.uniform(0.45, 0.6)]) - rot @ centre
        go_cam = Rotation.from_matrix(rot @ Rotation.from_rotvec(go).as_matrix()).as_rotvec()
        transl_cam = rot @ (rest_wrist + transl) + trans - rest_wrist
        hand_verts, joints = self._mano(go_cam, hand_pose, betas, transl_cam)
        obj_verts = mesh[0] @ rot.T + trans
        merged_v, merged_f, offsets = merge_meshes([(obj_verts, mesh[1]), (hand_verts, self.mano.faces)])
        colors = np.concatenate([np.tile(color, (offsets[1], 1)), np.tile(SKIN_RGB, (offsets[2] - offsets[1], 1))])
        rgb, depth, covered = render_mesh(merged_v, merged_f, K, hw, colors, _background(rng, hw))
        obj_faces, obj_depth = rasterize(obj_verts, mesh[1], K, hw)
        amodal = obj_faces >= 0
        visible = amodal & (np.abs(depth - obj_depth) < 1e-6)
        seg = np.where(visible, obj_id, np.where(covered, 255, 0)).astype(np.uint8)
        coeffs = hand_pose @ np.linalg.pinv(self.components)
        pose_m = np.concatenate([go_cam, coeffs, transl_cam])[None].astype(np.float32)
        proj = joints @ K.T
        out_dir.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out_dir / f"color_{frame:06d}.jpg"), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        pose_y = np.concatenate([rot, trans[:, None]], 1)[None].astype(np.float32)
        np.savez_compressed(out_dir / f"labels_{frame:06d}.npz", seg=seg, seg_amodal=amodal.astype(np.uint8),
                            pose_y=pose_y, pose_m=pose_m, joint_3d=joints[None].astype(np.float32),
                            joint_2d=(proj[:, :2] / proj[:, 2:])[None].astype(np.float32))

    def _mean(self) -> np.ndarray:
        return self.mano.pose_mean[3:].numpy().astype(np.float64)


def ensure_synthetic_dexycb(root: str | Path, spec: SceneSpec | None = None) -> Path:
    """Write the synthetic set under `root` unless the same spec is already there; return `root`."""
    spec = spec or SceneSpec()
    root = Path(root)
    if spec.num_subjects > len(SUBJECTS):
        raise ValueError(f"DexYCB has {len(SUBJECTS)} subjects; SceneSpec.num_subjects={spec.num_subjects}")
    wanted = json.dumps({**asdict(spec), "layout_version": LAYOUT_VERSION}, sort_keys=True)

    def write(folder: Path) -> None:
        log.info("writing synthetic DexYCB-like scenes to %s", root)
        GraspSceneWriter(spec).write(folder)

    return cached_dir(root, write, SPEC_FILE, wanted)
