"""Synthetic body-object interactions on the stand-in SMPL: ground truth, rough estimate, contact targets.

Camera frame (x right, y down, z forward, metres). A body stands 2.5-3.5 m in front of the camera; the
active chain's target joint (hand or foot) touches a box face; the contact region is a disc of points on
that face centred on the joint. The "rough" estimate perturbs the limb's rotations (the short chain's joints, so
both chain sets see the same problems) and the translation as an upstream regressor would; the 2D root is the
projected ground-truth root plus pixel noise. Every random draw comes from one seeded numpy generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import Tensor

from common.geometry import axis_angle_to_matrix
from kinematics.body_adapter import smpl_rest_joints
from kinematics.chains import CHAIN_SETS, SHORT_CHAINS
from kinematics.fk import fk_joints
from kinematics.objective import IKProblem


@dataclass
class NoiseConfig:
    """Upstream-estimator noise: chain rotations (radians, per axis), translation (m), 2D root (pixels)."""

    rot_std: float = 0.25
    transl_std: tuple[float, float, float] = (0.03, 0.03, 0.08)
    root_2d_std: float = 2.0


@dataclass
class Interactions:
    """Ground truth and rough SMPL parameters (B,...) plus the IK problem built from them."""

    problem: IKProblem
    betas: Tensor
    gt_pose: Tensor
    gt_transl: Tensor
    rough_pose: Tensor
    rough_transl: Tensor
    box_centre: Tensor
    box_half: Tensor
    box_rot: Tensor


def camera_intrinsics(batch: int, focal: float = 1000.0, size: int = 1024) -> Tensor:
    """(B,3,3) pinhole intrinsics with the principal point at the image centre."""
    K = torch.tensor([[focal, 0.0, size / 2], [0.0, focal, size / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)
    return K.expand(batch, 3, 3).clone()


def _random_pose(rng: np.random.Generator, batch: int) -> np.ndarray:
    """(B,24,3) plausible standing poses facing the camera (arms lowered, mild limb bends)."""
    pose = rng.normal(scale=0.08, size=(batch, 24, 3))
    yaw = rng.uniform(-0.4, 0.4, size=batch)
    pose[:, 0] = _compose_yaw(yaw)
    pose[:, 16, 2] += rng.uniform(-1.2, -0.3, batch)
    pose[:, 17, 2] += rng.uniform(0.3, 1.2, batch)
    pose[:, 16, 1] += rng.uniform(-0.6, 0.3, batch)
    pose[:, 17, 1] += rng.uniform(-0.3, 0.6, batch)
    pose[:, 18, 1] += rng.uniform(-1.5, -0.2, batch)
    pose[:, 19, 1] += rng.uniform(0.2, 1.5, batch)
    pose[:, [1, 2], 0] += rng.uniform(-0.8, 0.2, (batch, 2))
    pose[:, [4, 5], 0] += rng.uniform(0.0, 1.0, (batch, 2))
    return pose


def _compose_yaw(yaw: np.ndarray) -> np.ndarray:
    """Axis-angle of R_x(pi) @ R_y(yaw): upright in a y-down camera, facing it, turned by `yaw`."""
    rot = Rotation.from_rotvec([math.pi, 0.0, 0.0]) * Rotation.from_rotvec(np.outer(yaw, [0.0, 1.0, 0.0]))
    return rot.as_rotvec()


def make_interactions(model: torch.nn.Module, batch: int, chain_name: str, seed: int = 0,
                      noise: NoiseConfig | None = None, n_contact: int = 32, radius: float = 0.03,
                      chain_set: str = "paper") -> Interactions:
    """B interactions for one limb (left_arm, ..., body) of the SMPL `model`, solved on the chain of
    `chain_set` ('paper' or 'short'); the problems do not depend on the chain set (float64, CPU)."""
    noise = noise or NoiseConfig()
    rng = np.random.default_rng(seed)
    chain = CHAIN_SETS[chain_set][chain_name]
    betas = torch.from_numpy(rng.normal(scale=0.7, size=(batch, 10)))
    gt_pose = torch.from_numpy(_random_pose(rng, batch))
    gt_transl = torch.from_numpy(np.stack([rng.uniform(-0.3, 0.3, batch), rng.uniform(-0.2, 0.2, batch),
                                           rng.uniform(2.5, 3.5, batch)], 1))
    rest = smpl_rest_joints(model, betas)
    joints = fk_joints(axis_angle_to_matrix(gt_pose), rest, chain.parents) + gt_transl[:, None]
    contact = joints[:, chain.target]
    normal = torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(batch, 3))), dim=-1)
    helper = torch.from_numpy(rng.normal(size=(batch, 3)))
    u = torch.nn.functional.normalize(torch.cross(normal, helper, dim=-1), dim=-1)
    v = torch.cross(normal, u, dim=-1)
    ring = torch.linspace(0, 2 * math.pi, n_contact + 1, dtype=torch.float64)[:-1]
    radii = torch.tensor([radius, radius / 2], dtype=torch.float64).repeat_interleave(n_contact // 2)
    offsets = radii[:, None] * torch.stack([torch.cos(ring), torch.sin(ring)], -1)
    targets = contact[:, None] + offsets[None, :, :1] * u[:, None] + offsets[None, :, 1:] * v[:, None]
    half = torch.from_numpy(rng.uniform(0.08, 0.2, size=(batch, 3)))
    box_rot = torch.stack([u, v, normal], dim=-1)
    box_centre = contact + normal * half[:, 2:3]

    rough_pose = gt_pose.clone()
    rot_ids = list(SHORT_CHAINS[chain_name].rotation)
    rough_pose[:, rot_ids] += torch.from_numpy(rng.normal(scale=noise.rot_std, size=(batch, len(rot_ids), 3)))
    rough_transl = gt_transl + torch.from_numpy(rng.normal(size=(batch, 3)) * np.array(noise.transl_std))
    K = camera_intrinsics(batch)
    root_uv = joints[:, 0] @ K[0].T
    root_2d = root_uv[:, :2] / root_uv[:, 2:] + torch.from_numpy(rng.normal(scale=noise.root_2d_std,
                                                                           size=(batch, 2)))
    problem = IKProblem(chain, rest, rough_pose, rough_transl, targets, None, root_2d, K)
    return Interactions(problem, betas, gt_pose, gt_transl, rough_pose, rough_transl, box_centre, half, box_rot)
