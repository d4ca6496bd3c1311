"""CRRNet (paper Sec. 3.3): hourglass image encoder, k x k image-point fusion, GRU, per-point classifier."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from common.models import ModelFolderMixin
from contact.config import ContactModelConfig

POINT_SCALE_M = 0.2
"""Scale (m) of the object-centred copy of the point coordinates fed next to the raw ones."""


class Bottleneck(nn.Module):
    """Pre-activation residual bottleneck of the stacked hourglass (Newell et al. 2016)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        mid = max(out_ch // 2, 1)
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True), nn.Conv2d(in_ch, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, mid, 3, stride, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, out_ch, 1))
        self.skip = (nn.Identity() if in_ch == out_ch and stride == 1
                     else nn.Conv2d(in_ch, out_ch, 1, stride))

    def forward(self, x: Tensor) -> Tensor:
        """(B,in,H,W) -> (B,out,H/stride,W/stride)."""
        return self.body(x) + self.skip(x)


class Hourglass(nn.Module):
    """One recursive hourglass of `depth` 2x levels (max-pool down, nearest up, residual skips)."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.skip = Bottleneck(channels, channels)
        self.down = Bottleneck(channels, channels)
        self.inner = Hourglass(channels, depth - 1) if depth > 1 else Bottleneck(channels, channels)
        self.up = Bottleneck(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        """(B,C,H,W) -> (B,C,H,W); H and W must be divisible by 2**depth."""
        low = self.up(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.skip(x) + F.interpolate(low, size=x.shape[-2:], mode="nearest")


class StackedHourglass(nn.Module):
    """Image encoder: stem to H/4 x W/4 then `stacks` hourglasses; returns the last stack's features."""

    def __init__(self, channels: int, stacks: int, depth: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 7, 2, 3), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            Bottleneck(channels, channels), nn.MaxPool2d(2), Bottleneck(channels, channels))
        self.stacks = nn.ModuleList(
            nn.Sequential(Hourglass(channels, depth), Bottleneck(channels, channels),
                          nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for _ in range(stacks))
        self.merge = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(stacks - 1))

    def forward(self, images: Tensor) -> Tensor:
        """(B,3,H,W) in [0,1] -> (B,C_img,H/4,W/4)."""
        x = self.stem(images - 0.5)
        for i, stack in enumerate(self.stacks):
            feat = stack(x)
            if i < len(self.merge):
                x = x + self.merge[i](feat)
        return feat


def project_points(points: Tensor, K: Tensor) -> Tensor:
    """Pinhole projection of camera-frame points (...,N,3) m with K (...,3,3) -> pixels (...,N,2)."""
    uvw = points @ K.transpose(-1, -2)
    return uvw[..., :2] / uvw[..., 2:3].clamp_min(1e-6)


def window_sample(feat: Tensor, uv: Tensor, image_hw: tuple[int, int], k: int) -> Tensor:
    """Eq. 17: mean of bilinear samples of feat (B,C,h,w) on a k x k grid of feature pixels around uv.

    `uv` (B,N,2) are pixels of the (H,W) input image (pixel centres at integer coordinates); the
    window spacing is one feature pixel (H/h input pixels); outside the map features are zero.
    k=1 is a single bilinear sample at the point. Computed exactly as one bilinear sample of the
    zero-padded k x k box-filtered map (bilinear weights and the window mean commute). Returns (B,N,C).
    """
    if k < 1 or k % 2 == 0:
        raise ValueError(f"window size k={k} must be odd and >= 1")
    height, width = image_hw
    h, w = feat.shape[-2:]
    fx = (uv[..., 0] + 0.5) * (w / width) - 0.5
    fy = (uv[..., 1] + 0.5) * (h / height) - 0.5
    if k > 1:
        radius = (k - 1) // 2
        pad = radius + 1                               # every cell with a non-zero window mean is kept
        feat = F.avg_pool2d(F.pad(feat, (pad, pad, pad, pad)), k, stride=1, padding=radius,
                            count_include_pad=True)
        fx, fy, h, w = fx + pad, fy + pad, h + 2 * pad, w + 2 * pad
    grid = torch.stack([(fx + 0.5) * (2.0 / w) - 1.0, (fy + 0.5) * (2.0 / h) - 1.0], dim=-1)
    sampled = F.grid_sample(feat, grid[:, :, None].to(feat.dtype), mode="bilinear", padding_mode="zeros",
                            align_corners=False)                          # (B,C,N,1)
    return sampled[..., 0].transpose(1, 2)


class CRRNet(nn.Module, ModelFolderMixin):
    """Contact Region Recognition Network; with window=1 and temporal='none' it is the PiCR-style baseline.

    A model folder (common.models.hub): `save_pretrained(folder)` writes config.json (the ContactModelConfig),
    model.safetensors and a model card; `CRRNet.from_pretrained(folder)` / `load_model_folder(folder)` rebuild it.
    """

    def __init__(self, cfg: ContactModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = StackedHourglass(cfg.img_channels, cfg.hourglass_stacks, cfg.hourglass_depth)
        hidden = cfg.point_hidden
        self.point_mlp = nn.Sequential(
            nn.Linear(6 + cfg.img_channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden))
        self.global_mix = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(2 * hidden, hidden),
                                        nn.ReLU(inplace=True))
        if cfg.temporal == "gru":
            self.gru = nn.GRU(hidden, cfg.gru_hidden, batch_first=True, bidirectional=cfg.bidirectional)
            head_in = cfg.gru_hidden * (2 if cfg.bidirectional else 1)
        else:
            self.gru = None
            head_in = hidden
        self.classifier = nn.Sequential(nn.Linear(head_in, hidden), nn.ReLU(inplace=True),
                                        nn.Linear(hidden, cfg.num_classes))

    def point_features(self, images: Tensor, points: Tensor, K: Tensor) -> Tensor:
        """Fused per-frame features (B,T,N,hidden); images (B,T,3,H,W), points (B,T,N,3) m, K (B,T,3,3)."""
        b, t, _, height, width = images.shape
        feat = self.encoder(images.flatten(0, 1))                                 # (BT,C,H/4,W/4)
        flat_points = points.flatten(0, 1)
        uv = project_points(flat_points, K.flatten(0, 1))
        img_feat = window_sample(feat, uv.to(feat.dtype), (height, width), self.cfg.window)
        coords = flat_points.to(img_feat.dtype)
        centred = (coords - coords.mean(dim=1, keepdim=True)) / POINT_SCALE_M
        local = self.point_mlp(torch.cat([coords, centred, img_feat], dim=-1))
        pooled = local.max(dim=1, keepdim=True).values.expand_as(local)
        fused = self.global_mix(torch.cat([local, pooled], dim=-1))
        return fused.reshape(b, t, *fused.shape[1:])

    def forward(self, images: Tensor, points: Tensor, K: Tensor) -> Tensor:
        """Logits (B,T,N,15) for every object point of every frame."""
        fused = self.point_features(images, points, K)
        if self.gru is not None:
            b, t, n, c = fused.shape
            seq = fused.permute(0, 2, 1, 3).reshape(b * n, t, c)                   # GRU over T per point
            out, _ = self.gru(seq)
            fused = out.reshape(b, n, t, -1).permute(0, 2, 1, 3)
        return self.classifier(fused)


def crr_loss(logits: Tensor, labels: Tensor, weight: float = 0.006) -> Tensor:
    """Eq. 18: weight/T * sum over frames and points of the cross-entropy; mean over the batch.

    logits (B,T,N,C), labels (B,T,N) int64 class ids.
    """
    ce = F.cross_entropy(logits.float().flatten(0, 2), labels.flatten(), reduction="none")
    per_clip = ce.view(labels.shape).sum(dim=2).mean(dim=1)
    return weight * per_clip.mean()


def build_model(cfg: ContactModelConfig) -> CRRNet:
    """CRRNet from its config (random init)."""
    return CRRNet(cfg)
