"""Batched rotation conversions (torch, float32/64): axis-angle, matrix, 6D, quaternion (w, x, y, z)."""

from __future__ import annotations

import torch
from torch import Tensor


def skew(v: Tensor) -> Tensor:
    """(...,3) vectors -> (...,3,3) cross-product matrices [v]x."""
    x, y, z = v.unbind(-1)
    zero = torch.zeros_like(x)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle_to_matrix(aa: Tensor) -> Tensor:
    """Rodrigues: (...,3) axis-angle (radians) -> (...,3,3) rotation matrices; exact gradient at 0."""
    theta2 = (aa * aa).sum(-1, keepdim=True)[..., None]
    theta = theta2.clamp_min(1e-12).sqrt()
    small = theta2 < 1e-8
    sin_term = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    cos_term = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2.clamp_min(1e-12))
    k = skew(aa)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(k)
    return eye + sin_term * k + cos_term * (k @ k)


rodrigues = axis_angle_to_matrix


def matrix_to_quaternion(R: Tensor) -> Tensor:
    """(...,3,3) rotation matrices -> (...,4) unit quaternions (w, x, y, z) with w >= 0."""
    m = R.reshape(*R.shape[:-2], 9)
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.unbind(-1)
    # four candidate (unnormalised) quaternions, each well conditioned where its leading term is large
    q_abs2 = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22,
                          1 - m00 - m11 + m22], dim=-1)
    candidates = torch.stack([
        torch.stack([q_abs2[..., 0], m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, q_abs2[..., 1], m10 + m01, m02 + m20], -1),
        torch.stack([m02 - m20, m10 + m01, q_abs2[..., 2], m12 + m21], -1),
        torch.stack([m10 - m01, m20 + m02, m21 + m12, q_abs2[..., 3]], -1),
    ], dim=-2)
    best = q_abs2.argmax(-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_to_matrix(q: Tensor) -> Tensor:
    """(...,4) quaternions (w, x, y, z), normalised here -> (...,3,3) rotation matrices."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(*q.shape[:-1], 3, 3)


def quaternion_to_axis_angle(q: Tensor) -> Tensor:
    """(...,4) quaternions (w, x, y, z) -> (...,3) axis-angle with angle in [0, pi]."""
    q = q / q.norm(dim=-1, keepdim=True)
    q = torch.where(q[..., :1] < 0, -q, q)
    xyz_norm = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(xyz_norm, q[..., :1])
    small = xyz_norm < 1e-6
    scale = torch.where(small, 2.0 / q[..., :1].clamp_min(1e-12), angle / xyz_norm.clamp_min(1e-12))
    return q[..., 1:] * scale


def axis_angle_to_quaternion(aa: Tensor) -> Tensor:
    """(...,3) axis-angle -> (...,4) unit quaternions (w, x, y, z)."""
    angle = aa.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    small = angle < 1e-6
    sin_half_over = torch.where(small, 0.5 - angle * angle / 48.0, torch.sin(half) / angle.clamp_min(1e-12))
    return torch.cat([torch.cos(half), aa * sin_half_over], dim=-1)


def matrix_to_axis_angle(R: Tensor) -> Tensor:
    """(...,3,3) rotation matrices -> (...,3) axis-angle (radians, angle in [0, pi]); stable near 0 and pi."""
    return quaternion_to_axis_angle(matrix_to_quaternion(R))


def quaternion_multiply(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product a*b of (...,4) quaternions (w, x, y, z): rotation b first, then a."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                        aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)


def rot6d_to_matrix(d6: Tensor) -> Tensor:
    """(...,6) 6D rotation -> (...,3,3) by Gram-Schmidt: THE project convention (rows, pytorch3d layout).

    d6 = (a1, a2) are the first two ROWS of the matrix: row0 = a1/|a1|, row1 = a2 minus its row0 part,
    normalised, row2 = row0 x row1. Stacking them as columns instead gives the transpose; use this only.
    """
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-2)


def matrix_to_rot6d(R: Tensor) -> Tensor:
    """(...,3,3) rotation matrices -> (...,6): their first two rows (inverse of rot6d_to_matrix)."""
    return R[..., :2, :].reshape(*R.shape[:-2], 6)
