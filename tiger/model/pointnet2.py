"""PointNet++ building blocks in plain torch: farthest point sampling, ball query, set abstraction, propagation."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def square_distance(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise squared distances (B,N,M) between a (B,N,3) and b (B,M,3)."""
    return (a.unsqueeze(2) - b.unsqueeze(1)).pow(2).sum(-1)


def index_points(points: Tensor, idx: Tensor) -> Tensor:
    """Gather points (B,N,C) at idx (B,...) -> (B,...,C)."""
    batch = torch.arange(points.shape[0], device=points.device).view(-1, *([1] * (idx.dim() - 1)))
    return points[batch, idx]


def farthest_point_sample(xyz: Tensor, npoint: int, deterministic: bool = True) -> Tensor:
    """Indices (B,npoint) of iterative farthest points of xyz (B,N,3); starts at point 0 when deterministic."""
    b, n, _ = xyz.shape
    idx = torch.zeros(b, npoint, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, n), float("inf"), device=xyz.device, dtype=xyz.dtype)
    farthest = (torch.zeros(b, dtype=torch.long, device=xyz.device) if deterministic
                else torch.randint(0, n, (b,), device=xyz.device))
    rows = torch.arange(b, device=xyz.device)
    for k in range(npoint):
        idx[:, k] = farthest
        centre = xyz[rows, farthest].unsqueeze(1)
        dist = torch.minimum(dist, (xyz - centre).pow(2).sum(-1))
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


class SetAbstraction(nn.Module):
    """Sample `npoint` centres, group neighbours in a ball, shared MLP (Conv2d-BN-ReLU) and max-pool."""

    def __init__(self, npoint: int, radius: float, nsample: int, in_channels: int, mlp: list[int]) -> None:
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        layers: list[nn.Module] = []
        last = in_channels + 3
        for width in mlp:
            layers += [nn.Conv2d(last, width, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            last = width
        self.mlp = nn.Sequential(*layers)
        self.out_channels = last

    def forward(self, xyz: Tensor, feats: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """xyz (B,N,3), feats (B,N,D) -> centres (B,S,3), features (B,S,C'), centre indices (B,S)."""
        centre_idx = farthest_point_sample(xyz, self.npoint)
        centres = index_points(xyz, centre_idx)
        group_idx = query_ball_point(self.radius, self.nsample, xyz, centres)
        grouped = index_points(xyz, group_idx) - centres.unsqueeze(2)
        if feats is not None:
            grouped = torch.cat([grouped, index_points(feats, group_idx)], dim=-1)
        out = self.mlp(grouped.permute(0, 3, 2, 1))          # (B,C,K,S)
        return centres, out.max(dim=2).values.transpose(1, 2), centre_idx


class FeaturePropagation(nn.Module):
    """Inverse-distance 3-NN interpolation of coarse features onto fine points, skip concat, Conv1d MLP."""

    def __init__(self, in_channels: int, mlp: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = in_channels
        for width in mlp:
            layers += [nn.Conv1d(last, width, 1), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            last = width
        self.mlp = nn.Sequential(*layers)
        self.out_channels = last

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
        return self.mlp(interp.transpose(1, 2)).transpose(1, 2)
