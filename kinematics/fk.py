"""Forward kinematics of a joint tree (paper eqs. 1-4) and the twist-swing improved FK (eqs. 5-10).

Frames: rest joints and outputs are in the body-model frame (metres); rotations are local (relative to the
parent), exactly as smplx's `batch_rigid_transform` uses them.

Twist-swing convention (HybrIK): a joint's delta rotation is ``dR_i = R_sw(alpha_i, n_i) @ R_tw(phi_i, m_i)``
with the twist axis ``m_i`` the unit REST bone from joint i to its child c(i) on the active chain, and the
swing axis ``n_i`` perpendicular to it. It is composed after the rough local rotation: ``R_i = R^_i dR_i``.
Because ``R_tw`` leaves the bone ``J_c - J_i`` unchanged, a pure twist never moves the joint's single child.
Mapping to eq. (9): the paper attaches the twist of bone ``q_i - q_pa(i)`` to transform ``T_i``; here the
same bone's twist is a rotation of its proximal joint pa(i) (whose rotation is what actually spins that
bone), i.e. paper ``(phi_i, m_i)`` == our ``(phi_pa(i), unit(J_i - J_pa(i)))``; eq. (5)'s product
``T^_pa(i) T~_i T_tw T_sw`` becomes ``G_pa(i) [R^_i R_sw R_tw | J_i - J_pa(i)]`` (swing after twist).
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

from common.geometry import make_rigid, skew


@lru_cache(maxsize=64)
def tree_levels(parents: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Joints grouped by depth (root level first); requires parents[i] < i for every non-root joint."""
    depth = [0] * len(parents)
    for i, p in enumerate(parents):
        if (i == 0) != (p < 0):
            raise ValueError(f"joint 0 must be the only root; joint {i} has parent {p}")
        if p >= i:
            raise ValueError(f"parents must precede children; joint {i} has parent {p}")
        depth[i] = 0 if p < 0 else depth[p] + 1
    return tuple(tuple(i for i, d in enumerate(depth) if d == level) for level in range(max(depth) + 1))


def fk_joints(rot_mats: Tensor, rest_joints: Tensor, parents: tuple[int, ...] | list[int]) -> Tensor:
    """Posed joints (B,J,3) only (eqs. 1-4, no translation): world rotations and positions per joint as 3x3 and
    3-vectors, no 4x4 transform built; equals `forward_kinematics(...)[0]` and smplx's batch_rigid_transform."""
    parents = tuple(int(p) for p in parents)
    tree_levels(parents)                                           # validates the order (cached)
    rots: list[Tensor] = [rot_mats[:, 0]]
    pos: list[Tensor] = [rest_joints[:, 0]]
    for i in range(1, len(parents)):
        p = parents[i]
        bone = (rest_joints[:, i] - rest_joints[:, p]).unsqueeze(-1)
        pos.append(torch.baddbmm(pos[p].unsqueeze(-1), rots[p], bone).squeeze(-1))
        rots.append(torch.bmm(rots[p], rot_mats[:, i]))
    return torch.stack(pos, dim=1)


def forward_kinematics(rot_mats: Tensor, rest_joints: Tensor, parents: tuple[int, ...] | list[int],
                       ) -> tuple[Tensor, Tensor]:
    """Posed joints (B,J,3) and world transforms G (B,J,4,4) from local rotations (B,J,3,3), rest joints (B,J,3).

    G_0 = [R_0 | J_0], G_i = G_pa(i) [R_i | J_i - J_pa(i)] (eqs. 1-3); joints = G[:, :, :3, 3] (eq. 4, no
    translation). Joints of one tree depth are processed together.
    """
    parents = tuple(int(p) for p in parents)
    levels = tree_levels(parents)
    parent_idx = torch.tensor([max(p, 0) for p in parents], device=rest_joints.device)
    bones = torch.cat([rest_joints[:, :1], rest_joints[:, 1:] - rest_joints[:, parent_idx[1:]]], dim=1)
    glob_rot = rot_mats.clone()
    glob_pos = bones.clone()
    for level in levels[1:]:
        idx = torch.tensor(level, device=rot_mats.device)
        par = parent_idx[idx]
        parent_rot = glob_rot[:, par]
        glob_pos = glob_pos.index_copy(1, idx, (parent_rot @ bones[:, idx, :, None])[..., 0] + glob_pos[:, par])
        glob_rot = glob_rot.index_copy(1, idx, parent_rot @ rot_mats[:, idx])
    return glob_pos, make_rigid(glob_rot, glob_pos)


def relative_transforms(world: Tensor, rest_joints: Tensor) -> Tensor:
    """smplx's skinning transforms A_i = G_i with the rest joint removed: [R_i | t_i - R_i J_i]."""
    rel = world.clone()
    rel[..., :3, 3] = world[..., :3, 3] - (world[..., :3, :3] @ rest_joints[..., None])[..., 0]
    return rel


def rodrigues_sin_cos(axis: Tensor, sin: Tensor, cos: Tensor) -> Tensor:
    """Rotation (...,3,3) about unit axes (...,3) with given sin/cos of the angle (...): eqs. (7)-(8)."""
    k = skew(axis)
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device).expand_as(k)
    return eye + sin[..., None, None] * k + (1.0 - cos)[..., None, None] * (k @ k)


def twist_swing_delta(sin_phi: Tensor, cos_phi: Tensor, sin_alpha: Tensor, cos_alpha: Tensor,
                      swing_axis: Tensor, rest_bone: Tensor) -> Tensor:
    """dR = R_sw(alpha, n) @ R_tw(phi, m) (...,3,3); m = unit rest bone to the child, n made perpendicular to m."""
    m = torch.nn.functional.normalize(rest_bone, dim=-1)
    n = swing_axis - (swing_axis * m).sum(-1, keepdim=True) * m
    n = torch.nn.functional.normalize(n, dim=-1, eps=1e-9)
    return rodrigues_sin_cos(n, sin_alpha, cos_alpha) @ rodrigues_sin_cos(m, sin_phi, cos_phi)


def compose_chain_rotations(rough_rot: Tensor, joint_ids: Tensor, delta: Tensor) -> Tensor:
    """Local rotations (B,J,3,3) with R_i = R^_i dR_i on `joint_ids` (K,) and R^_i untouched elsewhere."""
    updated = rough_rot[:, joint_ids] @ delta
    return rough_rot.index_copy(1, joint_ids, updated)


def improved_fk(rough_rot: Tensor, rest_joints: Tensor, parents: tuple[int, ...], joint_ids: Tensor,
                delta: Tensor, transl: Tensor, delta_t: Tensor) -> tuple[Tensor, Tensor]:
    """Joints q = G[:3,3] + t^ + dt (eq. 10) (B,J,3) and the local rotations used (B,J,3,3)."""
    rot = compose_chain_rotations(rough_rot, joint_ids, delta)
    return fk_joints(rot, rest_joints, parents) + (transl + delta_t)[:, None], rot


class ChainFK:
    """FK restricted to the path from the first rotation joint to the target, for fast IK loops.

    Joints off that path do not move the target, and the root position J_0 + t does not depend on any
    rotation, so the IK loss only needs this path; `target_position` equals the full FK's target joint.
    """

    def __init__(self, rough_rot: Tensor, rest_joints: Tensor, parents: tuple[int, ...],
                 rotation: tuple[int, ...], target: int) -> None:
        path = [target]
        while path[-1] not in rotation[:1] and parents[path[-1]] >= 0:
            path.append(parents[path[-1]])
        self.path = tuple(reversed(path))
        start = parents[self.path[0]]
        if start >= 0:
            _, world = forward_kinematics(rough_rot, rest_joints, parents)
            self.start_rot, self.start_pos = world[:, start, :3, :3], world[:, start, :3, 3]
            first_bone = rest_joints[:, self.path[0]] - rest_joints[:, start]
        else:
            batch = rest_joints.shape[0]
            self.start_rot = torch.eye(3, dtype=rest_joints.dtype, device=rest_joints.device).expand(batch, 3, 3)
            self.start_pos = torch.zeros_like(rest_joints[:, 0])
            first_bone = rest_joints[:, self.path[0]]
        later = [rest_joints[:, j] - rest_joints[:, parents[j]] for j in self.path[1:]]
        self.bones = torch.stack([first_bone, *later], dim=1)
        self.rough_path_rot = rough_rot[:, list(self.path)]
        self.rotation = rotation
        self.delta_slot = torch.tensor([rotation.index(j) if j in rotation else len(rotation) for j in self.path],
                                       device=rest_joints.device)
        """(L,) index into delta of each path joint; len(rotation) (the identity) for joints the IK does not rotate."""

    def target_position(self, delta: Tensor) -> Tensor:
        """(B,3) target joint (no translation) with local rotations R^_i dR_i, delta (B,K,3,3) in chain order."""
        return path_target_position(self.start_rot, self.start_pos, self.bones, self.rough_path_rot,
                                    path_deltas(delta, self.delta_slot))


def path_deltas(delta: Tensor, slot: Tensor) -> Tensor:
    """(B,L,3,3) IK delta of each path step: delta (B,K,3,3) at slot (L,) or (B,L); slot K picks the identity."""
    eye = torch.eye(3, dtype=delta.dtype, device=delta.device).expand(delta.shape[0], 1, 3, 3)
    rows = torch.arange(delta.shape[0], device=delta.device)[:, None]
    return torch.cat([delta, eye], dim=1)[rows, slot.expand(delta.shape[0], -1)]


def path_target_position(start_rot: Tensor, start_pos: Tensor, bones: Tensor, path_rot: Tensor,
                         step_delta: Tensor) -> Tensor:
    """(B,3) end of a joint path (no translation): from the frame (start_rot (B,3,3), start_pos (B,3)) of the
    path's parent, along bones (B,L,3) with local rotations path_rot (B,L,3,3) times step_delta (B,L,3,3)."""
    rot, pos = start_rot, start_pos
    for k in range(bones.shape[1]):
        pos = pos + (rot @ bones[:, k, :, None])[..., 0]
        if k < bones.shape[1] - 1:
            rot = rot @ (path_rot[:, k] @ step_delta[:, k])
    return pos
