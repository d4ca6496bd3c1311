"""2D-3D collaborative attention: each 3D patch picks image regions, weighted visual features join geometry."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CollaborativeAttention(nn.Module):
    """[F_g ; F_vg] -> MLP -> softmax over the H*W regions of F_v -> F_fused = [F_g ; W F_v]."""

    def __init__(self, geo_channels: int, vis_channels: int, global_channels: int, num_regions: int,
                 hidden: int = 128) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(geo_channels + global_channels, hidden), nn.ReLU(inplace=True),
                                   nn.Linear(hidden, num_regions))
        self.num_regions = num_regions
        self.out_channels = geo_channels + vis_channels

    def forward(self, geo: Tensor, visual: Tensor, global_feat: Tensor) -> tuple[Tensor, Tensor]:
        """geo (B,S,Cg), visual map (B,Cv,H,W), global (B,Cvg) -> fused (B,S,Cg+Cv), weights W (B,S,H*W)."""
        h, w = visual.shape[-2:]
        if h * w != self.num_regions:
            raise ValueError(f"attention was built for {self.num_regions} regions, got a {h}x{w} feature map")
        query = torch.cat([geo, global_feat.unsqueeze(1).expand(-1, geo.shape[1], -1)], dim=-1)
        weights = self.score(query).softmax(dim=-1)
        attended = weights @ visual.flatten(2).transpose(1, 2)
        return torch.cat([geo, attended], dim=-1), weights


def expected_region(weights: Tensor, hw: tuple[int, int]) -> Tensor:
    """Soft-argmax (B,S,2) of attention weights (B,S,H*W) in feature-cell units (x, y), cell centres at k."""
    h, w = hw
    ys, xs = torch.meshgrid(torch.arange(h, dtype=weights.dtype, device=weights.device),
                            torch.arange(w, dtype=weights.dtype, device=weights.device), indexing="ij")
    grid = torch.stack([xs.flatten(), ys.flatten()], dim=-1)
    return weights @ grid
