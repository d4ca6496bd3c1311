"""Problems on different chains of one tree stacked into one batch for the neural IK (padded, exact per problem).

Each problem keeps its own chain: its rotation joints fill the first n_rot of K = max n_rot slots, its FK path
(first rotation joint -> target) the first L of L_max steps. Padding is exact: padded path steps have a zero
bone and an identity rotation, non-rotation path joints multiply by an identity delta, padded contact points are
masked out, so a problem's loss equals its one-chain loss up to the order of floating-point sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from common.geometry import axis_angle_to_matrix
from kinematics.fk import ChainFK, path_deltas, path_target_position
from kinematics.objective import IKProblem


def _pad_cat(tensors: list[Tensor], length: int, dim: int = 1, fill: Tensor | None = None) -> Tensor:
    """Concatenate along dim 0 after padding dim `dim` to `length` with zeros (or `fill`, broadcast)."""
    padded = []
    for t in tensors:
        missing = length - t.shape[dim]
        if missing:
            shape = list(t.shape)
            shape[dim] = missing
            pad = t.new_zeros(shape) if fill is None else fill.to(t).expand(shape)
            t = torch.cat([t, pad], dim=dim)
        padded.append(t)
    return torch.cat(padded)


class PaddedChainFK:
    """`ChainFK.target_position` of B problems on different chains: one loop over the longest path."""

    def __init__(self, parts: list[ChainFK], sizes: list[int], k_max: int) -> None:
        l_max = max(len(f.path) for f in parts)
        eye = torch.eye(3, dtype=parts[0].bones.dtype, device=parts[0].bones.device)
        self.start_rot = torch.cat([f.start_rot.expand(n, 3, 3) for f, n in zip(parts, sizes)])
        self.start_pos = torch.cat([f.start_pos for f in parts])
        self.bones = _pad_cat([f.bones for f in parts], l_max)
        self.rough_path_rot = _pad_cat([f.rough_path_rot for f in parts], l_max, fill=eye)
        slots = [torch.cat([torch.where(f.delta_slot < len(f.rotation), f.delta_slot, k_max),
                            f.delta_slot.new_full((l_max - len(f.path),), k_max)]).expand(n, l_max)
                 for f, n in zip(parts, sizes)]
        self.slot = torch.cat(slots)
        """(B,L_max) index into the padded delta of each path step; k_max (the identity) off the chain."""

    def target_position(self, delta: Tensor) -> Tensor:
        """(B,3) target joints (no translation), local rotations R^_i dR_i with delta (B,K,3,3) in chain order."""
        return path_target_position(self.start_rot, self.start_pos, self.bones, self.rough_path_rot,
                                    path_deltas(delta, self.slot))


@dataclass
class StackedProblems:
    """The problems of several IKProblem batches (one tree) stacked: tensors as in IKProblem, targets padded."""

    rest_joints: Tensor
    rough_pose: Tensor
    rough_transl: Tensor
    targets: Tensor
    target_mask: Tensor
    root_2d: Tensor | None
    K: Tensor | None
    keys: list[int]
    n_rot: list[int]
    rest_bones: Tensor
    """(B,K,3) rest bone from each rotation joint to its child on the path (unit x on padded slots)."""
    fk: PaddedChainFK
    sizes: list[int]

    @property
    def k_max(self) -> int:
        """Rotation slots per problem."""
        return self.rest_bones.shape[1]


def stack_problems(problems: list[IKProblem], eps2: float) -> StackedProblems:
    """Stack IKProblem batches (same tree; all with or all without root_2d/K unless eps2 = 0 drops the 2D term)."""
    trees = {p.chain.tree for p in problems}
    if len(trees) != 1:
        raise ValueError(f"one neural-IK solve takes chains of one tree, got {sorted(trees)}")
    has_2d = {p.root_2d is not None and p.K is not None for p in problems}
    if eps2 > 0 and len(has_2d) != 1:
        raise ValueError("one neural-IK solve takes problems that all have (or all lack) root_2d and K")
    use_2d = eps2 > 0 and has_2d.pop()
    sizes = [p.batch for p in problems]
    k_max = max(len(p.chain.rotation) for p in problems)
    n_max = max(p.targets.shape[1] for p in problems)
    bones, parts = [], []
    for p in problems:
        device = p.rest_joints.device
        rot_ids = torch.tensor(p.chain.rotation, device=device)
        child_ids = torch.tensor(p.chain.path_children(), device=device)
        bones.append(p.rest_joints[:, child_ids] - p.rest_joints[:, rot_ids])
        parts.append(ChainFK(axis_angle_to_matrix(p.rough_pose), p.rest_joints, p.chain.parents, p.chain.rotation,
                             p.chain.target))
    unit_x = torch.tensor([1.0, 0.0, 0.0])
    return StackedProblems(
        rest_joints=torch.cat([p.rest_joints for p in problems]),
        rough_pose=torch.cat([p.rough_pose for p in problems]),
        rough_transl=torch.cat([p.rough_transl for p in problems]),
        targets=_pad_cat([p.targets for p in problems], n_max),
        target_mask=_pad_cat([p.target_mask for p in problems], n_max),
        root_2d=torch.cat([p.root_2d for p in problems]) if use_2d else None,
        K=torch.cat([p.K for p in problems]) if use_2d else None,
        keys=[int(k) for p in problems for k in p.init_keys()],
        n_rot=[len(p.chain.rotation) for p in problems for _ in range(p.batch)],
        rest_bones=_pad_cat(bones, k_max, fill=unit_x), fk=PaddedChainFK(parts, sizes, k_max), sizes=sizes)
