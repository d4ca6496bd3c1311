"""Analytic inverse kinematics from 21 hand joints (DexYCB/OpenPose order) to MANO axis-angle pose.

The solver follows gSDF's `ik_solver_mano`: a Kabsch/SVD fit of the five wrist->MCP vectors gives the
global rotation, then every finger is walked from the palm to the tip and each joint gets the
swing rotation that turns its template bone onto the target bone expressed in the parent frame.
Bone lengths come from the MANO template of the given shape, so only bone directions are matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import torch
from smplx.lbs import batch_rodrigues
from torch import Tensor, nn

from common.body.constants import MANO_16_TO_21, MANO_TIP_VERTEX_IDS
from common.geometry import matrix_to_axis_angle
from common.geometry.procrustes import rotation_from_covariance

# Finger chains in the 21-joint order (wrist, thumb1..4, index1..4, middle1..4, ring1..4, little1..4).
_FINGER_CHAINS_21: tuple[tuple[int, ...], ...] = (
    (0, 5, 6, 7, 8),      # index
    (0, 9, 10, 11, 12),   # middle
    (0, 17, 18, 19, 20),  # little
    (0, 13, 14, 15, 16),  # ring
    (0, 1, 2, 3, 4),      # thumb
)
# MANO's internal joint id (0..15) of each non-tip joint of the 21-joint order.
_MANO_ID_OF_21: dict[int, int] = {0: 0, 1: 13, 2: 14, 3: 15, 5: 1, 6: 2, 7: 3, 9: 4, 10: 5, 11: 6,
                                  13: 10, 14: 11, 15: 12, 17: 7, 18: 8, 19: 9}
_MCP_21: tuple[int, ...] = (1, 5, 9, 13, 17)


@dataclass
class ManoIKResult:
    """Solved MANO parameters; `full_pose` (B,48) axis-angle in MANO joint order, `transl` (B,3) metres."""

    global_orient: Tensor
    hand_pose: Tensor
    full_pose: Tensor
    transl: Tensor
    valid: Tensor


def _safe_normalize(v: Tensor, eps: float = 1e-8) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


def kabsch_rotation(src: Tensor, dst: Tensor) -> tuple[Tensor, Tensor]:
    """Rotation R (B,3,3) minimising sum ||R src_k - dst_k||² over vectors (B,K,3) (no centring); validity (B,)
    is False where the best orthogonal map is a reflection (det < 0), which R then fixes."""
    cov = dst.transpose(1, 2) @ src
    return rotation_from_covariance(cov)[0], torch.linalg.det(cov) > 0


def swing_axis_angle(template_bone: Tensor, target_bone: Tensor) -> Tensor:
    """Axis-angle (B,3) of the smallest rotation turning `template_bone` onto the direction of `target_bone`."""
    t = _safe_normalize(template_bone)
    p = _safe_normalize(target_bone)
    axis = torch.cross(t, p, dim=-1)
    sin = axis.norm(dim=-1, keepdim=True)
    cos = (t * p).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    angle = torch.atan2(sin, cos)
    return axis / sin.clamp_min(1e-8) * angle


def mano_template_joints21(mano_model: nn.Module, betas: Tensor | None = None,
                           tip_vertex_ids: tuple[int, ...] = MANO_TIP_VERTEX_IDS) -> Tensor:
    """Rest-pose (zero full pose) 21 joints (B,3) of `mano_model` with `betas` (B,10), metres, MANO frame."""
    dtype = mano_model.shapedirs.dtype
    betas = torch.zeros(1, mano_model.num_betas, dtype=dtype) if betas is None else betas.to(dtype)
    batch = betas.shape[0]
    hand_mean = mano_model.pose_mean[3:].to(dtype)
    out = mano_model(betas=betas, global_orient=torch.zeros(batch, 3, dtype=dtype),
                     hand_pose=-hand_mean.expand(batch, -1), transl=torch.zeros(batch, 3, dtype=dtype))
    tips = out.vertices[:, list(tip_vertex_ids)]
    full = torch.cat([out.joints[:, :16], tips], dim=1)
    return full[:, list(MANO_16_TO_21)]


def solve_mano_ik(joints21: Tensor, mano_model: nn.Module, betas: Tensor | None = None,
                  tip_vertex_ids: tuple[int, ...] = MANO_TIP_VERTEX_IDS) -> ManoIKResult:
    """Analytic IK: 21 joints (B,21,3) camera/world frame, metres -> MANO pose, translation and validity.

    `hand_pose` is returned relative to the model's `pose_mean` (so it can be fed straight back into a
    smplx MANO built with `use_pca=False`); `full_pose` is the absolute 48-d axis-angle.
    """
    dtype = joints21.dtype
    batch = joints21.shape[0]
    if betas is None:
        betas = torch.zeros(batch, mano_model.num_betas, dtype=dtype, device=joints21.device)
    template = mano_template_joints21(mano_model, betas.to(mano_model.shapedirs.device),
                                      tip_vertex_ids).to(joints21)
    target = joints21 - joints21[:, :1]
    rest = template - template[:, :1]
    global_rot, valid = kabsch_rotation(rest[:, list(_MCP_21)], target[:, list(_MCP_21)])
    pose = torch.zeros(batch, 16, 3, dtype=dtype, device=joints21.device)
    pose[:, 0] = matrix_to_axis_angle(global_rot)
    for chain in _FINGER_CHAINS_21:
        parent_rot = global_rot
        for joint, child in pairwise(chain[1:]):
            template_bone = rest[:, child] - rest[:, joint]
            target_local = (parent_rot.transpose(1, 2) @ (target[:, child] - target[:, joint])[..., None])[..., 0]
            local_aa = swing_axis_angle(template_bone, target_local)
            pose[:, _MANO_ID_OF_21[joint]] = local_aa
            parent_rot = parent_rot @ batch_rodrigues(local_aa)
    full_pose = pose.reshape(batch, 48)
    hand_mean = mano_model.pose_mean[3:].to(joints21)
    # smplx rotates about the rest wrist joint, so the translation moves that joint onto the target wrist.
    transl = joints21[:, 0] - template[:, 0]
    return ManoIKResult(global_orient=full_pose[:, :3], hand_pose=full_pose[:, 3:] - hand_mean,
                        full_pose=full_pose, transl=transl, valid=valid)


def mano_joints_from_pose(mano_model: nn.Module, result: ManoIKResult, betas: Tensor | None = None,
                          tip_vertex_ids: tuple[int, ...] = MANO_TIP_VERTEX_IDS) -> tuple[Tensor, Tensor]:
    """Run MANO on an IK result: vertices (B,778,3) and 21 joints (B,21,3), metres, same frame as the input."""
    batch = result.full_pose.shape[0]
    dtype = mano_model.shapedirs.dtype
    if betas is None:
        betas = torch.zeros(batch, mano_model.num_betas, dtype=dtype)
    out = mano_model(betas=betas.to(dtype), global_orient=result.global_orient.to(dtype),
                     hand_pose=result.hand_pose.to(dtype), transl=result.transl.to(dtype))
    tips = out.vertices[:, list(tip_vertex_ids)]
    joints = torch.cat([out.joints[:, :16], tips], dim=1)[:, list(MANO_16_TO_21)]
    return out.vertices, joints
