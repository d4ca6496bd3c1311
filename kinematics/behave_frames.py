"""BEHAVE test frames of the CHORE protocol with ground truth, rough VisTracker/CHORE fits and 2D roots.

Everything is expressed in the colour frame of the test Kinect (metres): the ground truth (world-frame SMPL-H
`fit02` through the subject's gendered SMPL-H, object `fit01`) is moved there with the Kinect's config.json;
the packed tracker outputs already live there (VisTracker/CHORE reconstruct in the test camera's frame; an
unverified assumption that only affects the un-aligned Chamfer, the CHORE metric aligns).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from common.body import smpl_part_labels
from common.geometry.meshes import read_mesh, sample_surface
from common.metrics import M_TO_MM, pa_mpjpe, root_aligned_mpjpe
from kinematics.behave import (
    PackedRecon,
    chore_test_frames,
    read_info,
    read_intrinsics,
    read_object_fit,
    read_packed_recon,
    read_root_2d,
    read_smpl_fit,
    read_world_to_camera,
    template_file,
)
from kinematics.body_adapter import SMPLH_AS_SMPL24, smpl_rest_joints
from kinematics.config import KinematicsDataConfig, KinematicsModelConfig
from kinematics.contacts import contact_pseudo_labels
from kinematics.hoi_refine import BodyParams, ContactRefiner, PipelineConfig, hoi_chamfer
from kinematics.smplh_standin import behave_body

log = logging.getLogger(__name__)
ROUGH_BODY_GENDER = "male"
"""VisTracker/CHORE fit every subject with the male SMPL-H (evalvideo_packed.py); the rough body uses it too."""


def smplh_params_in_camera(pose: np.ndarray, betas: np.ndarray, trans: np.ndarray, model: torch.nn.Module,
                           rot: np.ndarray, shift: np.ndarray) -> dict[str, np.ndarray]:
    """SMPL-H parameters (global_orient, body_pose (63,), hands (90,), betas, transl) of a fit given in a frame
    where x_cam = rot x + shift. The body rotates about its rest root J0: transl' = rot (J0 + t) + shift - J0.
    A 72-d SMPL pose keeps joints 0-21 and gets flat hands."""
    pose = np.concatenate([pose[:66], pose[66:156] if pose.shape[0] == 156 else np.zeros(90)])
    root = smpl_rest_joints(model, torch.as_tensor(betas[None, :10]))[0, 0].numpy()
    orient = Rotation.from_matrix(rot @ Rotation.from_rotvec(pose[:3]).as_matrix()).as_rotvec()
    return {"global_orient": orient, "body_pose": pose[3:66], "hands": pose[66:], "betas": betas[:10],
            "transl": rot @ (root + trans) + shift - root}


@dataclass
class ObjectFrame:
    """Object of one frame: template (verts (V,3) centred, faces), GT and rough posed vertices, sampled points
    (N,3) posed by the rough and the GT fit, and their GT contact labels (N,) (15 classes)."""

    verts: np.ndarray
    faces: np.ndarray
    gt_verts: np.ndarray
    rough_verts: np.ndarray
    rough_points: np.ndarray
    gt_points: np.ndarray
    labels: np.ndarray


@dataclass
class BehaveTestFrames:
    """Batched test frames: keys (seq, frame), rough params (male SMPL-H), GT vertices (F,6890,3) (gendered
    SMPL-H), K (F,3,3) full-resolution pixels, root_2d (F,2) OpenPose pixels, objects, genders."""

    keys: list[tuple[str, str]]
    rough: BodyParams
    gt_verts: np.ndarray
    K: torch.Tensor
    root_2d: torch.Tensor
    objects: list[ObjectFrame]
    genders: list[str]
    rough_body: torch.nn.Module


def load_test_frames(root: Path, rough_dir: Path, part_labels: np.ndarray, *, body_models: str | None,
                     smplh_standin: bool, cache_dir: Path, kid: int = 1, num_points: int = 256,
                     max_frames: int = 0, seed: int = 0) -> BehaveTestFrames:
    """Every CHORE-protocol test frame (first `max_frames` when > 0) with its rough tracker fit."""
    keys = chore_test_frames(root, "test", kid)
    keys = keys[:max_frames] if max_frames > 0 else keys
    bodies = {g: behave_body(body_models, g, smplh_standin, cache_dir) for g in ("male", "female")}
    rough_body = bodies[ROUGH_BODY_GENDER]
    packed: dict[str, PackedRecon] = {}
    templates: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    rough_rows, gt_verts, Ks, roots, objects, genders, kept = [], [], [], [], [], [], []
    for seq, frame in keys:
        seq_dir, frame_dir = root / "sequences" / seq, root / "sequences" / seq / frame
        info = read_info(seq_dir)
        if seq not in packed:
            packed[seq] = read_packed_recon(rough_dir, seq, kid)
        row = packed[seq].index(frame)
        if row is None:
            log.warning("no tracker output for %s/%s in %s: frame not scored", seq, frame, rough_dir)
            continue
        rec = packed[seq]
        cat, gender = info["cat"], str(info["gender"]).lower()
        rot, shift = read_world_to_camera(Path(info["config"]), kid)
        fit = read_smpl_fit(frame_dir)
        gt = smplh_params_in_camera(fit["pose"], fit["betas"], fit["trans"], bodies[gender], rot, shift)
        with torch.no_grad():
            out = bodies[gender](**{k: torch.as_tensor(v[None], dtype=torch.float32)
                                    for k, v in _smplx_kwargs(gt).items()})
        rough_rows.append(smplh_params_in_camera(rec.poses[row], rec.betas[row], rec.trans[row], rough_body,
                                                 np.eye(3), np.zeros(3)))
        if cat not in templates:
            verts, faces = read_mesh(template_file(root, cat))
            verts = verts - verts.mean(axis=0)
            templates[cat] = (verts, faces, sample_surface(verts, faces, num_points, np.random.default_rng(seed)))
        verts, faces, samples = templates[cat]
        angle, trans = read_object_fit(frame_dir, cat)
        obj_rot = rot @ Rotation.from_rotvec(angle).as_matrix()
        obj_shift = rot @ trans + shift
        scale = rec.obj_scale[row]
        gt_points = samples @ obj_rot.T + obj_shift
        body_verts = out.vertices[0].double().numpy()
        labels, _ = contact_pseudo_labels(gt_points, body_verts, part_labels)
        objects.append(ObjectFrame(verts, faces, verts @ obj_rot.T + obj_shift,
                                   (verts @ rec.obj_rot[row] + rec.obj_trans[row]) * scale,
                                   (samples @ rec.obj_rot[row] + rec.obj_trans[row]) * scale, gt_points, labels))
        gt_verts.append(body_verts)
        Ks.append(read_intrinsics(Path(info["intrinsic"]), kid))
        roots.append(read_root_2d(frame_dir, kid))
        genders.append(gender)
        kept.append((seq, frame))
    if not kept:
        raise FileNotFoundError(f"no BEHAVE test frame of {root} has a tracker output in {rough_dir}")
    stack = {k: torch.as_tensor(np.stack([r[k] for r in rough_rows]), dtype=torch.float32)
             for k in ("global_orient", "body_pose", "transl", "betas", "hands")}
    rough = BodyParams(stack["global_orient"], stack["body_pose"], stack["transl"], stack["betas"], stack["hands"])
    return BehaveTestFrames(kept, rough, np.stack(gt_verts), torch.as_tensor(np.stack(Ks)),
                            torch.as_tensor(np.stack(roots)), objects, genders, rough_body)


def _smplx_kwargs(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """smplx SMPL-H keyword arguments of a parameter dict with a `hands` (90,) entry."""
    return {"global_orient": params["global_orient"], "body_pose": params["body_pose"],
            "left_hand_pose": params["hands"][:45], "right_hand_pose": params["hands"][45:],
            "betas": params["betas"], "transl": params["transl"]}


def refine_frames(data: BehaveTestFrames, labels: list[np.ndarray], cfg: PipelineConfig, part_labels: np.ndarray,
                  confidence: list[np.ndarray] | None = None) -> np.ndarray:
    """(F,6890,3) vertices of the rough bodies refined onto the contact labels (per frame (N,) on the rough
    object points) with the 2D roots, camera frame (m)."""
    points = torch.as_tensor(np.stack([o.rough_points for o in data.objects]))
    refiner = ContactRefiner(data.rough_body, part_labels, cfg)
    refined, _ = refiner.refine(data.rough, points, np.stack(labels), data.root_2d, data.K,
                                None if confidence is None else np.stack(confidence))
    return refiner.vertices(refined)[0].numpy()


def rough_vertices(data: BehaveTestFrames) -> np.ndarray:
    """(F,6890,3) vertices of the tracker's bodies (camera frame, m)."""
    return ContactRefiner(data.rough_body, np.zeros(1, np.int64), PipelineConfig()).vertices(data.rough)[0].numpy()


def chore_scores(data: BehaveTestFrames, verts: np.ndarray, samples: int = 10_000) -> dict[str, float]:
    """Mean over the frames of the CHORE metric (PA: one similarity Procrustes on human+object vertices,
    `samples` surface points per mesh, cm) and of the un-aligned Chamfer, human and object; `frames` = count."""
    faces = np.asarray(data.rough_body.faces, dtype=np.int64)
    rows = [hoi_chamfer(v, g, faces, o.rough_verts, o.gt_verts, o.faces, samples=samples, seed=i)
            for i, (v, g, o) in enumerate(zip(verts, data.gt_verts, data.objects))]
    return {**{k: float(np.mean([r[k] for r in rows])) for k in rows[0]}, "frames": float(len(rows))}


def _joint_errors(data: BehaveTestFrames, verts: np.ndarray) -> dict[str, float]:
    """Root-aligned and Procrustes-aligned MPJPE (mm) of the 24-joint view regressed from the meshes."""
    regressor = data.rough_body.J_regressor[list(SMPLH_AS_SMPL24)].double().numpy()
    pred, gt = regressor @ verts, regressor @ data.gt_verts
    return {"mpjpe_mm": root_aligned_mpjpe(pred, gt) * M_TO_MM, "pa_mpjpe_mm": pa_mpjpe(pred, gt) * M_TO_MM}


def _table_metrics(data: BehaveTestFrames, verts: np.ndarray, samples: int) -> dict[str, float]:
    """The kinematics tables' columns on BEHAVE (Chamfer = human; solver diagnostics are not measured: NaN)."""
    chore = chore_scores(data, verts, samples)
    return {**_joint_errors(data, verts), "chamfer_cm": chore["chamfer_human"],
            "pa_chamfer_cm": chore["pa_chamfer_human"], "chamfer_object_cm": chore["chamfer_object"],
            "pa_chamfer_object_cm": chore["pa_chamfer_object"], "frames": chore["frames"],
            **dict.fromkeys(("reach_cm", "g_mpjpe_mm", "nonchain_change_rad", "steps", "solves_per_s"), float("nan"))}


def evaluate_behave(data_cfg: KinematicsDataConfig, model_cfg: KinematicsModelConfig, steps: int, lr: float,
                    seed: int) -> dict[str, float]:
    """The solver of `model_cfg` on BEHAVE's protocol frames (GT contact regions on the tracker's objects)."""
    for key in ("root", "rough_dir"):
        if getattr(data_cfg, key) is None:
            raise ValueError(f"data.{key} is not set: data.source=behave needs the BEHAVE root and the folder of "
                             "VisTracker/CHORE packed outputs (docs/kinematics.md#real-data)")
    parts = smpl_part_labels(data_cfg.body_models)
    data = load_test_frames(Path(data_cfg.root), Path(data_cfg.rough_dir), parts, body_models=data_cfg.body_models,
                            smplh_standin=data_cfg.smplh_standin, cache_dir=Path(data_cfg.cache_dir or ".cache"),
                            kid=data_cfg.kid, max_frames=data_cfg.max_frames, seed=data_cfg.seed)
    pipe = PipelineConfig(chain_set=data_cfg.chain_set, gamma_deg=model_cfg.gamma_deg, ik_steps=steps, ik_lr=lr,
                          use_2d=model_cfg.use_2d, solver=model_cfg.solver, use_tanh=model_cfg.use_tanh,
                          trunk_gamma_deg=model_cfg.trunk_gamma_deg, seed=seed)
    refined = refine_frames(data, [o.labels for o in data.objects], pipe, parts)
    rough = _table_metrics(data, rough_vertices(data), data_cfg.eval_samples)
    out = _table_metrics(data, refined, data_cfg.eval_samples)
    out.update({f"rough/{k}": v for k, v in rough.items()})
    out["standin_body_model"] = float(bool(getattr(data.rough_body, "is_standin", False)))
    return out
