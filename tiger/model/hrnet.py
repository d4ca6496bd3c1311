"""HRNet (Wang et al.) in the key layout of the official HRNet-Image-Classification / timm `hrnet_w*` weights.

Module names match those checkpoints (`conv1`, `bn1`, `conv2`, `bn2`, `layer1`, `transition1`,
`stage2.0.branches.0.0.conv1`, `stage2.0.fuse_layers.1.0.0.0`, ...), so `hrnetv2_w18_imagenet_pretrained.pth`
loads strictly with only the classification head (`incre_modules.*`, `downsamp_modules.*`, `final_layer.*`,
`classifier.*`) declared unexpected. HRNet-W18: width 18, stage modules [1, 4, 3], blocks [4, 4, 4].
Written in plain torch because timm needs torchvision, which cannot be a dependency here.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from common.models.loading import PretrainedInit
from tiger.model.backbones import BasicBlock, Bottleneck, make_layer


def _conv_bn(cin: int, cout: int, stride: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Parallel branches of basic blocks followed by all-to-all fusion (official `HighResolutionModule`)."""

    def __init__(self, channels: list[int], num_blocks: int) -> None:
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(make_layer(BasicBlock, c, c, num_blocks) for c in channels)
        self.fuse_layers = nn.ModuleList()
        for i in range(n):
            row = nn.ModuleList()
            for j in range(n):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, bias=False),
                                             nn.BatchNorm2d(channels[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    steps = [_conv_bn(channels[j], channels[j], 2, True) for _ in range(i - j - 1)]
                    steps.append(_conv_bn(channels[j], channels[i], 2, False))
                    row.append(nn.Sequential(*steps))
            self.fuse_layers.append(row)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        return [self.relu(sum(fuse(x) for fuse, x in zip(row, xs))) for row in self.fuse_layers]


def _transition(previous: list[int], current: list[int]) -> nn.ModuleList:
    """Official `_make_transition_layer`: 3x3 conv where widths change, strided convs for each new branch."""
    layers = nn.ModuleList()
    for i, width in enumerate(current):
        if i < len(previous):
            layers.append(_conv_bn(previous[i], width, 1, True) if previous[i] != width else nn.Identity())
        else:
            steps = [_conv_bn(previous[-1], width if k == i - len(previous) else previous[-1], 2, True)
                     for k in range(i + 1 - len(previous))]
            layers.append(nn.Sequential(*steps))
    return layers


class HRNet(nn.Module):
    """HRNet trunk: stem (stride 4), bottleneck stage 1, then stages of 2, 3, 4 ... parallel branches.

    forward returns the final branch maps [(B,C,H/4,W/4), (B,2C,H/8,W/8), ...] and the global feature
    (B, C*(2**n-1)) by average pooling each branch.
    """

    def __init__(self, width: int = 18, stem_width: int = 64, stage1_blocks: int = 4,
                 stage_modules: tuple[int, ...] = (1, 4, 3), stage_blocks: tuple[int, ...] = (4, 4, 4),
                 pretrained: PretrainedInit | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_width, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.conv2 = nn.Conv2d(stem_width, stem_width, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, stem_width, stem_width, stage1_blocks)
        previous = [stem_width * Bottleneck.expansion]
        self.num_stages = len(stage_modules)
        for s, (modules, blocks) in enumerate(zip(stage_modules, stage_blocks)):
            channels = [width * 2 ** k for k in range(s + 2)]
            self.add_module(f"transition{s + 1}", _transition(previous, channels))
            self.add_module(f"stage{s + 2}", nn.Sequential(*(HighResolutionModule(channels, blocks)
                                                               for _ in range(modules))))
            previous = channels
        self.channels = tuple(previous)
        if pretrained is not None:
            pretrained.load_into(self)

    def forward(self, image: Tensor) -> tuple[list[Tensor], Tensor]:
        """Image (B,3,H,W) -> branch maps (highest resolution first) and the pooled global feature."""
        x = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(image))))))
        xs = [self.layer1(x)]
        for s in range(self.num_stages):
            transition = getattr(self, f"transition{s + 1}")
            xs = [t(xs[i] if i < len(xs) else xs[-1]) for i, t in enumerate(transition)]
            xs = getattr(self, f"stage{s + 2}")(xs)
        return xs, torch.cat([x.mean((2, 3)) for x in xs], dim=1)
