"""Volumetric uvd heatmap heads (hand joints, object centre): soft-argmax and uvd <-> camera conversion."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tiger.model.backbones import ResNet


def soft_argmax_3d(logits: Tensor) -> Tensor:
    """Volumetric logits (B,J,D,H,W) -> expected (x, y, d) (B,J,3) in cell units (cell centres at k)."""
    b, j, d, h, w = logits.shape
    prob = logits.flatten(2).softmax(-1).view(b, j, d, h, w)
    device, dtype = logits.device, logits.dtype
    x = (prob.sum((2, 3)) * torch.arange(w, device=device, dtype=dtype)).sum(-1)
    y = (prob.sum((2, 4)) * torch.arange(h, device=device, dtype=dtype)).sum(-1)
    z = (prob.sum((3, 4)) * torch.arange(d, device=device, dtype=dtype)).sum(-1)
    return torch.stack([x, y, z], dim=-1)


def uvd_to_camera(uv: Tensor, depth: Tensor, K: Tensor) -> Tensor:
    """Pixels uv (B,J,2) and depth (B,J) metres with intrinsics K (B,3,3) -> camera points (B,J,3) metres."""
    fx, fy = K[:, 0, 0, None], K[:, 1, 1, None]
    cx, cy = K[:, 0, 2, None], K[:, 1, 2, None]
    x = (uv[..., 0] - cx) / fx * depth
    y = (uv[..., 1] - cy) / fy * depth
    return torch.stack([x, y, depth], dim=-1)


def camera_to_uvd(points: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
    """Camera points (B,J,3) metres -> pixels (B,J,2) and depth (B,J) metres."""
    proj = points @ K.transpose(1, 2)
    return proj[..., :2] / proj[..., 2:3].clamp_min(1e-6), points[..., 2]


class VolumetricPoseHead(nn.Module):
    """torchvision-layout ResNet encoder -> upsampling -> J volumetric heatmaps -> soft-argmax uvd -> camera points.

    Depth is decoded as gSDF's `decode_volume`: z = (d / D * 2 - 1) * depth_range + root_depth, with
    `root_depth` the wrist depth of the sample (the gSDF protocol gives the ground-truth wrist at test).
    """

    def __init__(self, num_joints: int, widths: list[int], layers: list[int], bottleneck: bool,
                 heatmap_size: int, depth_bins: int, depth_range: float, input_size: int,
                 deconv_width: int = 32) -> None:
        super().__init__()
        self.encoder = ResNet(widths, layers, bottleneck)
        ups: list[nn.Module] = []
        channels, size = self.encoder.out_channels, input_size // self.encoder.stride
        while size < heatmap_size:
            ups += [nn.ConvTranspose2d(channels, deconv_width, 4, 2, 1, bias=False), nn.BatchNorm2d(deconv_width),
                    nn.ReLU(inplace=True)]
            channels, size = deconv_width, size * 2
        self.upsample = nn.Sequential(*ups)
        self.head = nn.Conv2d(channels, num_joints * depth_bins, 1)
        self.num_joints, self.depth_bins, self.depth_range = num_joints, depth_bins, depth_range
        self.cell_pixels = input_size / heatmap_size

    def forward(self, image: Tensor, K: Tensor, root_depth: Tensor) -> tuple[Tensor, Tensor]:
        """Image (B,3,H,W), crop intrinsics K (B,3,3), root depth (B,) m -> camera points (B,J,3), uvd (B,J,3)."""
        feats = self.upsample(self.encoder(image))
        b, _, h, w = feats.shape
        logits = self.head(feats).view(b, self.num_joints, self.depth_bins, h, w)
        cells = soft_argmax_3d(logits.float())
        uv = (cells[..., :2] + 0.5) * self.cell_pixels - 0.5
        depth = ((cells[..., 2] + 0.5) / self.depth_bins * 2.0 - 1.0) * self.depth_range + root_depth[:, None]
        return uvd_to_camera(uv, depth, K.float()), torch.cat([uv, depth.unsqueeze(-1)], dim=-1)
