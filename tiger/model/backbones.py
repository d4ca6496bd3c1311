"""Plain-torch image encoders: an HRNet-style two-branch multi-resolution encoder and a ResNet-style one.

Both load real weights from a local state-dict file (`.pt`/`.pth` or `.safetensors`) in this module's key
layout when a path is given, else start from a random init of the configured (tiny by default) widths.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

log = logging.getLogger(__name__)


def load_local_weights(module: nn.Module, path: str | Path | None) -> None:
    """Load a local state dict into `module` (non-strict, mismatches logged); no-op when `path` is None."""
    if path is None:
        return
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"encoder weights {path} not found; give a local state-dict file or null "
                                "for a random init (docs/tiger.md)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    missing, unexpected = module.load_state_dict(state, strict=False)
    log.info("loaded %s: %d missing, %d unexpected keys", path, len(missing), len(unexpected))


def conv_bn_relu(cin: int, cout: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    """Conv-BN-ReLU with 'same' padding."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """ResNet basic residual block (two 3x3 convs)."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * self.expansion
        self.body = nn.Sequential(conv_bn_relu(cin, width, stride),
                                  nn.Conv2d(width, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.skip(x))


class Bottleneck(BasicBlock):
    """ResNet-50 bottleneck block (1x1, 3x3, 1x1 with expansion 4)."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        nn.Module.__init__(self)
        cout = width * self.expansion
        self.body = nn.Sequential(conv_bn_relu(cin, width, 1, 1), conv_bn_relu(width, width, stride),
                                  nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))


class ResNetEncoder(nn.Module):
    """ResNet-style encoder: stem (stride 4) and len(layers) stages; ResNet-50 = bottleneck, [3,4,6,3]."""

    def __init__(self, widths: list[int], layers: list[int], bottleneck: bool = False,
                 weights: str | None = None) -> None:
        super().__init__()
        block = Bottleneck if bottleneck else BasicBlock
        self.stem = nn.Sequential(conv_bn_relu(3, widths[0], 2), conv_bn_relu(widths[0], widths[0], 2))
        stages, cin = [], widths[0]
        for i, (width, count) in enumerate(zip(widths, layers)):
            blocks = []
            for k in range(count):
                blocks.append(block(cin, width, 2 if (k == 0 and i > 0) else 1))
                cin = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.out_channels = cin
        self.stride = 4 * 2 ** (len(widths) - 1)
        load_local_weights(self, weights)

    def forward(self, image: Tensor) -> Tensor:
        """Image (B,3,H,W) normalised -> feature map (B,C,H/stride,W/stride)."""
        return self.stages(self.stem(image))


class HRNetEncoder(nn.Module):
    """HRNet-style encoder: parallel high (stride 4) and low (stride 8) branches with repeated exchange."""

    def __init__(self, width: int = 16, num_modules: int = 2, weights: str | None = None) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(3, width, 2), conv_bn_relu(width, width, 2))
        self.to_low = conv_bn_relu(width, 2 * width, 2)
        self.high_blocks = nn.ModuleList(BasicBlock(width, width) for _ in range(num_modules))
        self.low_blocks = nn.ModuleList(BasicBlock(2 * width, 2 * width) for _ in range(num_modules))
        self.low_to_high = nn.ModuleList(nn.Sequential(nn.Conv2d(2 * width, width, 1, bias=False),
                                                       nn.BatchNorm2d(width)) for _ in range(num_modules))
        self.high_to_low = nn.ModuleList(nn.Sequential(nn.Conv2d(width, 2 * width, 3, 2, 1, bias=False),
                                                       nn.BatchNorm2d(2 * width)) for _ in range(num_modules))
        self.channels = (width, 2 * width)
        load_local_weights(self, weights)

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Image (B,3,H,W) -> F_v1 (B,C,H/4,W/4), F_v2 (B,2C,H/8,W/8), global F_vg (B,3C) by average pooling."""
        high = self.stem(image)
        low = self.to_low(high)
        for hb, lb, l2h, h2l in zip(self.high_blocks, self.low_blocks, self.low_to_high, self.high_to_low):
            high, low = hb(high), lb(low)
            up = F.interpolate(l2h(low), size=high.shape[-2:], mode="bilinear", align_corners=False)
            high, low = F.relu(high + up), F.relu(low + h2l(high))
        pooled = torch.cat([high.mean((2, 3)), low.mean((2, 3))], dim=1)
        return high, low, pooled
