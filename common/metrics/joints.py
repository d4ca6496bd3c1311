"""Joint-position errors: MPJPE, root-aligned MPJPE and PA-MPJPE, in the units of the inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from common.metrics._arrays import check_points, joint_mask, masked_mean, row_norm, to_numpy


def joint_errors(pred: Any, gt: Any) -> np.ndarray:
    """Per-joint Euclidean distances (..., J) between (..., J, 3) arrays, in the input units."""
    p, g = to_numpy(pred), to_numpy(gt)
    check_points(p, g)
    return row_norm(p - g)


def mpjpe(pred: Any, gt: Any, valid: Any = None) -> float:
    """Mean joint error pooled over all valid joints of all samples, no alignment (camera frame: G-MPJPE)."""
    errors = joint_errors(pred, gt)
    return masked_mean(errors, joint_mask(valid, errors.shape))


def per_sample_mpjpe(pred: Any, gt: Any, valid: Any = None) -> np.ndarray:
    """Mean error over the valid joints of each sample, shape (...,); NaN where a sample has none."""
    errors = joint_errors(pred, gt)
    mask = joint_mask(valid, errors.shape)
    count = mask.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (errors * mask).sum(-1) / np.maximum(count, 1), np.nan)


def _root_groups(root: int | Sequence[int], groups: Sequence[Sequence[int]] | None, num_joints: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per joint: the index of its root joint, and whether it belongs to any group."""
    if isinstance(root, int | np.integer):
        return np.full(num_joints, int(root)), np.ones(num_joints, dtype=bool)
    if groups is None or len(groups) != len(root):
        raise ValueError("a list of roots needs `groups`, one list of joint indices per root")
    root_of = np.zeros(num_joints, dtype=int)
    member = np.zeros(num_joints, dtype=bool)
    for r, joints in zip(root, groups):
        idx = np.asarray(list(joints), dtype=int)
        if member[idx].any():
            raise ValueError("a joint appears in two groups")
        root_of[idx], member[idx] = int(r), True
    return root_of, member


def root_relative(joints: Any, root: int | Sequence[int] = 0,
                  groups: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Joints (..., J, 3) minus their root joint (or each group's root), same units and axes."""
    x = to_numpy(joints)
    root_of, _ = _root_groups(root, groups, x.shape[-2])
    return x - x[..., root_of, :]


def root_aligned_mpjpe(pred: Any, gt: Any, root: int | Sequence[int] = 0, valid: Any = None,
                       groups: Sequence[Sequence[int]] | None = None) -> float:
    """MPJPE after subtracting each sample's root joint (or each group's root, e.g. two wrists).

    A joint counts when it and its root are valid; the roots themselves count with zero error (as
    HybrIK and EggHand do). Joints outside every group are left out.
    """
    p, g = to_numpy(pred), to_numpy(gt)
    check_points(p, g)
    root_of, member = _root_groups(root, groups, p.shape[-2])
    mask = joint_mask(valid, p.shape[:-1])
    mask = mask & mask[..., root_of] & member
    errors = row_norm((p - p[..., root_of, :]) - (g - g[..., root_of, :]))
    return masked_mean(errors, mask)


def pa_mpjpe(pred: Any, gt: Any, valid: Any = None) -> float:
    """MPJPE after a per-sample similarity Procrustes of pred onto gt fitted on the valid joints."""
    import torch

    from common.geometry import apply_similarity, similarity_procrustes

    p, g = to_numpy(pred), to_numpy(gt)
    check_points(p, g)
    mask = joint_mask(valid, p.shape[:-1])
    src = torch.from_numpy(np.ascontiguousarray(p.reshape(-1, *p.shape[-2:])))
    dst = torch.from_numpy(np.ascontiguousarray(g.reshape(-1, *g.shape[-2:])))
    weights = torch.from_numpy(mask.reshape(-1, p.shape[-2]).astype(np.float64))
    aligned = apply_similarity(src, *similarity_procrustes(src, dst, weights))
    errors = torch.linalg.vector_norm(aligned - dst, dim=-1).numpy().reshape(mask.shape)
    return masked_mean(errors, mask)
