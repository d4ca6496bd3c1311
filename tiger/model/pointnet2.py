"""PointNet++ building blocks in plain torch: farthest point sampling, ball query, set abstraction, propagation."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def square_distance(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise squared distances (B,N,M) between a (B,N,3) and b (B,M,3), always in float32 (no autocast)."""
    with torch.autocast(a.device.type, enabled=False):
        a, b = a.float(), b.float()
        cross = torch.bmm(a, b.transpose(1, 2))
        return (a.pow(2).sum(-1, keepdim=True) + b.pow(2).sum(-1).unsqueeze(1) - 2.0 * cross).clamp_min(0.0)


def index_points(points: Tensor, idx: Tensor) -> Tensor:
    """Gather points (B,N,C) at idx (B,...) -> (B,...,C)."""
    batch = torch.arange(points.shape[0], device=points.device).view(-1, *([1] * (idx.dim() - 1)))
    return points[batch, idx]


def farthest_point_sample(xyz: Tensor, npoint: int) -> Tensor:
    """Indices (B,npoint) of iterative farthest points of xyz (B,N,3), deterministic start at point 0."""
    b, n, _ = xyz.shape
    pairwise = square_distance(xyz, xyz)
    idx = torch.zeros(b, npoint, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, n), float("inf"), device=xyz.device, dtype=xyz.dtype)
    farthest = torch.zeros(b, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for k in range(npoint):
        idx[:, k] = farthest
        dist = torch.minimum(dist, pairwise[rows, farthest])
        farthest = dist.argmax(-1)
    return idx


def query_ball_point(radius: float, nsample: int, xyz: Tensor, new_xyz: Tensor) -> Tensor:
    """Indices (B,S,nsample) of up to nsample points within radius of each centre; gaps repeat the first hit."""
    n = xyz.shape[1]
    d2 = square_distance(new_xyz, xyz)
    idx = torch.arange(n, device=xyz.device).expand_as(d2).clone()
    idx[d2 > radius ** 2] = n
    idx = idx.sort(dim=-1).values[..., :nsample]
    first = idx[..., :1].expand_as(idx)
    # The centre is itself a member of xyz, so the first entry is always a real index.
    return torch.where(idx == n, first, idx)


def shared_mlp(in_channels: int, widths: list[int]) -> nn.Sequential:
    """Per-point MLP (Linear-BN-ReLU, i.e. 1x1 convolutions) applied to (P, C) rows."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_channels, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
        in_channels = width
    return nn.Sequential(*layers)


class SetAbstraction(nn.Module):
    """Sample `npoint` centres, group neighbours in a ball, shared MLP (1x1 conv-BN-ReLU) and max-pool."""

    def __init__(self, npoint: int, radius: float, nsample: int, in_channels: int, mlp: list[int]) -> None:
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        self.mlp = shared_mlp(in_channels + 3, mlp)
        self.out_channels = mlp[-1]

    def forward(self, xyz: Tensor, feats: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """xyz (B,N,3), feats (B,N,D) -> centres (B,S,3), features (B,S,C'), centre indices (B,S)."""
        centre_idx = farthest_point_sample(xyz, self.npoint)
        centres = index_points(xyz, centre_idx)
        group_idx = query_ball_point(self.radius, self.nsample, xyz, centres)
        grouped = index_points(xyz, group_idx) - centres.unsqueeze(2)
        if feats is not None:
            grouped = torch.cat([grouped, index_points(feats, group_idx)], dim=-1)
        b, s, k, c = grouped.shape
        out = self.mlp(grouped.reshape(b * s * k, c)).view(b, s, k, -1)
        return centres, out.max(dim=2).values, centre_idx


class FeaturePropagation(nn.Module):
    """Inverse-distance 3-NN interpolation of coarse features onto fine points, skip concat, Conv1d MLP."""

    def __init__(self, in_channels: int, mlp: list[int]) -> None:
        super().__init__()
        self.mlp = shared_mlp(in_channels, mlp)
        self.out_channels = mlp[-1]

    def forward(self, xyz_fine: Tensor, xyz_coarse: Tensor, feats_fine: Tensor | None,
                feats_coarse: Tensor) -> Tensor:
        """Fine xyz (B,N,3), coarse xyz (B,S,3), features (B,N,D1)/(B,S,D2) -> (B,N,C')."""
        d2 = square_distance(xyz_fine, xyz_coarse)
        k = min(3, xyz_coarse.shape[1])
        dist, idx = d2.topk(k, dim=-1, largest=False)
        weight = 1.0 / (dist + 1e-8)
        weight = weight / weight.sum(-1, keepdim=True)
        interp = (index_points(feats_coarse, idx) * weight.unsqueeze(-1)).sum(2)
        if feats_fine is not None:
            interp = torch.cat([feats_fine, interp], dim=-1)
        b, n, c = interp.shape
        return self.mlp(interp.reshape(b * n, c)).view(b, n, -1)
