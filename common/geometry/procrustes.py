"""Similarity Procrustes (Umeyama 1991) with the reflection fix: one batched torch implementation.

`similarity_procrustes` works on torch tensors (autograd-safe); `umeyama` is its numpy front-end for one
(N,3) pair or a batch (B,N,3). Both return s, R, t with dst ~ s R src + t.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def similarity_procrustes(src: Tensor, dst: Tensor, weights: Tensor | None = None,
                          with_scale: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """Least-squares s, R, t with dst ~ s R src + t: src, dst (B,N,3), optional weights (B,N) >= 0.

    Returns scale (B,) (ones when not `with_scale`), R (B,3,3) (a proper rotation, det +1) and t (B,3),
    in dst's units and frame. The reflection fix flips the smallest singular direction when det(cov) < 0.
    """
    if weights is None:
        mu_src, mu_dst = src.mean(-2), dst.mean(-2)
        xs, xd = src - mu_src[..., None, :], dst - mu_dst[..., None, :]
        cov = xd.transpose(-1, -2) @ xs / src.shape[-2]
        var_src = (xs * xs).sum((-1, -2)) / src.shape[-2]
    else:
        w = weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)
        mu_src = (w[..., None] * src).sum(-2)
        mu_dst = (w[..., None] * dst).sum(-2)
        xs, xd = src - mu_src[..., None, :], dst - mu_dst[..., None, :]
        cov = (w[..., None] * xd).transpose(-1, -2) @ xs
        var_src = (w * (xs * xs).sum(-1)).sum(-1)
    R, trace = rotation_from_covariance(cov)
    scale = trace / var_src.clamp_min(1e-12) if with_scale else torch.ones_like(var_src)
    t = mu_dst - scale[..., None] * (R @ mu_src[..., None])[..., 0]
    return scale, R, t


def rotation_from_covariance(cov: Tensor) -> tuple[Tensor, Tensor]:
    """The proper rotation R (...,3,3) maximising trace(R^T cov) for cov = sum_k w_k dst_k src_k^T (...,3,3).

    Also returns that maximum, trace(S D) (...,). The reflection fix flips the smallest singular direction
    when det(cov) < 0 (det(U Vh) has the sign of det(cov); a 3x3 determinant is cheaper than a product + det).
    """
    U, S, Vh = torch.linalg.svd(cov)
    sign = torch.where(torch.linalg.det(cov) < 0, -1.0, 1.0).to(S.dtype)
    d = torch.cat([torch.ones_like(S[..., :2]), sign[..., None]], -1)
    return (U * d[..., None, :]) @ Vh, (S * d).sum(-1)


def apply_similarity(x: Tensor, scale: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """s R x + t for points x (B,N,3), scale (B,), R (B,3,3), t (B,3)."""
    return scale[..., None, None] * x @ R.transpose(-1, -2) + t[..., None, :]


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
            with_scale: bool = True) -> tuple[float | np.ndarray, np.ndarray, np.ndarray]:
    """Numpy front-end of `similarity_procrustes`: src, dst (N,3) or (B,N,3) -> scale, R, t (float64).

    For one (N,3) pair: a float scale, R (3,3), t (3,); for a batch: scale (B,), R (B,3,3), t (B,3).
    """
    single = np.ndim(src) == 2
    s_t = torch.from_numpy(np.asarray(src, dtype=np.float64).reshape(-1, *np.shape(src)[-2:]))
    d_t = torch.from_numpy(np.asarray(dst, dtype=np.float64).reshape(-1, *np.shape(dst)[-2:]))
    w_t = None if weights is None else torch.from_numpy(np.asarray(weights, np.float64).reshape(s_t.shape[:2]))
    scale, R, t = (x.numpy() for x in similarity_procrustes(s_t, d_t, w_t, with_scale))
    if single:
        return float(scale[0]), R[0], t[0]
    return scale, R, t
