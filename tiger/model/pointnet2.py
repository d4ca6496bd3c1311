"""PointNet++ (SSG) in plain torch, in the key layout of the widely used PyTorch port's checkpoints.

`SetAbstraction` / `FeaturePropagation` hold `mlp_convs` (1x1 Conv2d / Conv1d) and `mlp_bns` like
yanx27/Pointnet_Pointnet2_pytorch, so the `sa1`/`sa2` tensors of its `pointnet2_cls_ssg` or
`pointnet2_sem_seg` checkpoints (`model_state_dict` entry) load strictly into `PointNet2Encoder`.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from common.models.loading import PretrainedInit


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


class SetAbstraction(nn.Module):
    """Sample `npoint` centres, group neighbours in a ball, shared MLP (1x1 conv-BN-ReLU) and max-pool."""

    def __init__(self, npoint: int, radius: float, nsample: int, in_channels: int, mlp: list[int]) -> None:
        super().__init__()
        self.npoint, self.radius, self.nsample = npoint, radius, nsample
        widths = [in_channels + 3, *mlp]
        self.mlp_convs = nn.ModuleList(nn.Conv2d(a, b, 1) for a, b in itertools.pairwise(widths))
        self.mlp_bns = nn.ModuleList(nn.BatchNorm2d(b) for b in mlp)
        self.out_channels = mlp[-1]

    def forward(self, xyz: Tensor, feats: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """xyz (B,N,3), feats (B,N,D) -> centres (B,S,3), features (B,S,C'), centre indices (B,S)."""
        centre_idx = farthest_point_sample(xyz, self.npoint)
        centres = index_points(xyz, centre_idx)
        group_idx = query_ball_point(self.radius, self.nsample, xyz, centres)
        grouped = index_points(xyz, group_idx) - centres.unsqueeze(2)
        if feats is not None:
            grouped = torch.cat([grouped, index_points(feats, group_idx)], dim=-1)
        out = grouped.permute(0, 3, 2, 1)                  # (B, C, K, S) as the reference implementation
        for conv, bn in zip(self.mlp_convs, self.mlp_bns):
            out = torch.relu(bn(conv(out)))
        return centres, out.max(dim=2).values.transpose(1, 2), centre_idx


class FeaturePropagation(nn.Module):
    """Inverse-distance 3-NN interpolation of coarse features onto fine points, skip concat, Conv1d MLP."""

    def __init__(self, in_channels: int, mlp: list[int]) -> None:
        super().__init__()
        widths = [in_channels, *mlp]
        self.mlp_convs = nn.ModuleList(nn.Conv1d(a, b, 1) for a, b in itertools.pairwise(widths))
        self.mlp_bns = nn.ModuleList(nn.BatchNorm1d(b) for b in mlp)
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
        out = interp.transpose(1, 2)
        for conv, bn in zip(self.mlp_convs, self.mlp_bns):
            out = torch.relu(bn(conv(out)))
        return out.transpose(1, 2)


class PointNet2Encoder(nn.Module):
    """Two SSG set-abstraction levels (`sa1`, `sa2`): TIGeR's geometric backbone over the prior points."""

    def __init__(self, npoints: tuple[int, int], radii: tuple[float, float], nsamples: tuple[int, int],
                 mlps: tuple[list[int], list[int]], pretrained: PretrainedInit | None = None) -> None:
        super().__init__()
        self.sa1 = SetAbstraction(npoints[0], radii[0], nsamples[0], 0, mlps[0])
        self.sa2 = SetAbstraction(npoints[1], radii[1], nsamples[1], mlps[0][-1], mlps[1])
        if pretrained is not None:
            pretrained.load_into(self)
