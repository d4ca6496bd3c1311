"""Bridges between smplx SMPL/MANO models + parameter dicts and the kinematic trees used by the solvers.

SMPL: 24 joints, pose = cat(global_orient, body_pose) as (B,24,3). SMPL-H (BEHAVE's ground truth and the
VisTracker/CHORE outputs): the same 24-joint tree seen through joints 0-21 plus the middle-finger
knuckles (25, 40) in the slots of SMPL's hand joints 22/23; hand poses are carried along untouched.
MANO: the 21-joint OpenPose-order tree (MANO's 16 joints + 5 fingertip vertices as leaves,
`common.body.MANO_16_TO_21`), pose (B,21,3) with identity rotations on the tips;
MANO's `pose_mean` (hands_mean unless flat_hand_mean) is included.
"""

from __future__ import annotations

import torch
from smplx.lbs import blend_shapes, vertices2joints
from torch import Tensor

from common.body import MANO_16_TO_21, MANO_TIP_VERTEX_IDS

_TIP_SLOTS_21 = (4, 8, 12, 16, 20)


def _shaped_template(model: torch.nn.Module, betas: Tensor) -> Tensor:
    """(B,V,3) shaped rest vertices of an smplx model, in the model's frame (metres)."""
    betas = betas.to(model.shapedirs.dtype)
    return model.v_template[None] + blend_shapes(betas[:, : model.shapedirs.shape[-1]], model.shapedirs)


SMPLH_AS_SMPL24 = (*range(22), 25, 40)
"""SMPL-H joints that play SMPL's 24 joints (22/23, the hands, become the middle-finger knuckles)."""


def is_smplh(model: torch.nn.Module) -> bool:
    """True for an smplx SMPL-H body (52 joints, body_pose of 21 joints plus hand poses)."""
    return hasattr(model, "left_hand_pose") and model.J_regressor.shape[0] == 52


def smpl_rest_joints(model: torch.nn.Module, betas: Tensor) -> Tensor:
    """(B,24,3) rest joints J_regressor @ (v_template + shapedirs betas), as smplx computes them (float64);
    SMPL-H models give their 24-joint view (SMPLH_AS_SMPL24).

    Regresses the template and the shape directions first (the map is linear), so no (B,6890,3) mesh is built.
    """
    joint_template, joint_dirs = _joint_regression(model)
    n_betas = joint_dirs.shape[-1]
    return joint_template[None] + torch.einsum("bl,jkl->bjk", betas.double()[:, :n_betas].to(joint_dirs.device),
                                               joint_dirs)


def _joint_regression(model: torch.nn.Module) -> tuple[Tensor, Tensor]:
    """(J,3) regressed template joints and (J,3,L) regressed shape directions (float64), computed once per model
    and kept on it (invalidated when the model's buffers are replaced, e.g. by `.to()`)."""
    key = (model.J_regressor.data_ptr(), model.v_template.data_ptr(), model.shapedirs.data_ptr())
    cached = getattr(model, "_ehp_joint_regression", None)
    if cached is None or cached[0] != key:
        regressor = model.J_regressor.double()
        if is_smplh(model):
            regressor = regressor[list(SMPLH_AS_SMPL24)]
        cached = (key, regressor @ model.v_template.double(),
                  torch.einsum("jv,vkl->jkl", regressor, model.shapedirs.double()))
        object.__setattr__(model, "_ehp_joint_regression", cached)
    return cached[1], cached[2]


def mano_rest_joints21(model: torch.nn.Module, betas: Tensor) -> Tensor:
    """(B,21,3) MANO rest skeleton: 16 regressed joints + 5 fingertip vertices, in MANO_JOINT_NAMES order."""
    shaped = _shaped_template(model, betas)
    joints16 = vertices2joints(model.J_regressor, shaped)
    tips = shaped[:, list(MANO_TIP_VERTEX_IDS)]
    return torch.cat([joints16, tips], dim=1)[:, list(MANO_16_TO_21)].double()


def smpl_pose(params: dict[str, Tensor]) -> Tensor:
    """(B,24,3) local axis-angle from global_orient (B,3) and body_pose (B,69) (SMPL) or (B,63) (SMPL-H:
    the knuckle slots 22/23 get identity, finger rotations do not move the knuckles)."""
    batch = params["global_orient"].shape[0]
    body = params["body_pose"].reshape(batch, -1, 3)
    if body.shape[1] == 21:
        body = torch.cat([body, torch.zeros_like(body[:, :2])], dim=1)
    return torch.cat([params["global_orient"].reshape(batch, 1, 3), body], dim=1).double()


def smpl_params_from_pose(pose: Tensor, params: dict[str, Tensor], transl: Tensor) -> dict[str, Tensor]:
    """smplx parameter dict with the given pose (B,24,3) and translation; other keys (hand poses) copied.
    SMPL-H dicts (body_pose of 63) take joints 1-21 of the pose."""
    out = dict(params)
    dtype = params["global_orient"].dtype
    joints = params["body_pose"].shape[-1] // 3 if "body_pose" in params else 23
    out["global_orient"] = pose[:, 0].to(dtype)
    out["body_pose"] = pose[:, 1:1 + joints].reshape(pose.shape[0], 3 * joints).to(dtype)
    out["transl"] = transl.to(dtype)
    return out


def mano_pose21(model: torch.nn.Module, params: dict[str, Tensor]) -> Tensor:
    """(B,21,3) local axis-angle on the 21-joint tree from MANO parameters (hand_pose 45, no PCA)."""
    batch = params["global_orient"].shape[0]
    full16 = torch.cat([params["global_orient"], params["hand_pose"]], dim=1) + model.pose_mean
    padded = torch.cat([full16.reshape(batch, 16, 3), torch.zeros(batch, 5, 3, dtype=full16.dtype,
                                                                   device=full16.device)], dim=1)
    return padded[:, list(MANO_16_TO_21)].double()


def mano_params_from_pose21(model: torch.nn.Module, pose21: Tensor, params: dict[str, Tensor],
                            transl: Tensor) -> dict[str, Tensor]:
    """MANO parameter dict (global_orient, hand_pose without pose_mean, transl) from a (B,21,3) pose."""
    batch = pose21.shape[0]
    order16 = [MANO_16_TO_21.index(k) for k in range(16)]
    full16 = pose21[:, order16].reshape(batch, 48).to(model.pose_mean.dtype) - model.pose_mean
    out = dict(params)
    dtype = params["global_orient"].dtype
    out["global_orient"] = full16[:, :3].to(dtype)
    out["hand_pose"] = full16[:, 3:].to(dtype)
    out["transl"] = transl.to(dtype)
    return out
