"""Batched similarity Procrustes (Umeyama 1991) with the reflection fix."""

from __future__ import annotations

import torch
from torch import Tensor


def similarity_procrustes(src: Tensor, dst: Tensor,
                          weights: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Least-squares s, R, t with dst ~ s R src + t: src, dst (B,N,3), optional weights (B,N) >= 0.

    Returns scale (B,), R (B,3,3) (a proper rotation, det +1) and t (B,3), in dst's units and frame.
    """
    if weights is None:
        weights = torch.ones(src.shape[:-1], dtype=src.dtype, device=src.device)
    w = weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)
    mu_src = (w[..., None] * src).sum(-2)
    mu_dst = (w[..., None] * dst).sum(-2)
    xs, xd = src - mu_src[:, None], dst - mu_dst[:, None]
    cov = torch.einsum("bn,bni,bnj->bij", w, xd, xs)
    U, S, Vh = torch.linalg.svd(cov)
    sign = torch.sign(torch.det(U @ Vh))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    d = torch.ones_like(S)
    d[:, -1] = sign
    R = U @ torch.diag_embed(d) @ Vh
    var_src = (w * (xs * xs).sum(-1)).sum(-1)
    scale = (S * d).sum(-1) / var_src.clamp_min(1e-12)
    t = mu_dst - scale[:, None] * torch.einsum("bij,bj->bi", R, mu_src)
    return scale, R, t


def apply_similarity(x: Tensor, scale: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """s R x + t for points x (B,N,3), scale (B,), R (B,3,3), t (B,3)."""
    return scale[:, None, None] * x @ R.transpose(-1, -2) + t[:, None]
