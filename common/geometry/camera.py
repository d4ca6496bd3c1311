"""Pinhole camera projection and rigid transforms (batched torch; camera frame x right, y down, z forward)."""

from __future__ import annotations

import torch
from torch import Tensor


def project(points_cam: Tensor, K: Tensor, eps: float = 1e-8) -> Tensor:
    """Camera-frame points (...,N,3) in metres -> pixel coordinates (...,N,2) with intrinsics K (...,3,3)."""
    uvw = points_cam @ K.transpose(-1, -2)
    z = uvw[..., 2:]
    z = torch.where(z.abs() < eps, torch.full_like(z, eps), z)
    return uvw[..., :2] / z


def unproject(uv: Tensor, depth: Tensor, K: Tensor) -> Tensor:
    """Pixels (...,N,2) and depths (...,N) (metres along z) -> camera-frame points (...,N,3)."""
    ones = torch.ones_like(uv[..., :1])
    rays = torch.cat([uv, ones], dim=-1) @ torch.linalg.inv(K).transpose(-1, -2)
    return rays * depth[..., None]


def rigid_transform(points: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """R p + t for points (...,N,3), R (...,3,3), t (...,3)."""
    return points @ R.transpose(-1, -2) + t[..., None, :]


def make_rigid(R: Tensor, t: Tensor) -> Tensor:
    """(...,4,4) homogeneous transform from R (...,3,3) and t (...,3)."""
    top = torch.cat([R, t[..., None]], dim=-1)
    bottom = torch.zeros_like(top[..., :1, :])
    bottom[..., 0, 3] = 1.0
    return torch.cat([top, bottom], dim=-2)


def invert_rigid(T: Tensor) -> Tensor:
    """Inverse of rigid transforms T (...,4,4): [R^T | -R^T t]."""
    R, t = T[..., :3, :3], T[..., :3, 3]
    Rt = R.transpose(-1, -2)
    return make_rigid(Rt, -(Rt @ t[..., None])[..., 0])
