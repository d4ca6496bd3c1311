"""ResNet in torchvision's key layout (plain torch, no torchvision): the pose branches' visual encoder.

Module names follow torchvision's `ResNet` exactly (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`,
...), so a published ResNet-50 state dict (e.g. `resnet50-0676ba61.pth`) loads strictly through
`common.models.loading.load_pretrained` with only its classifier `fc.*` declared unexpected. Written here
because torchvision cannot be a dependency (its CPU build is unavailable); the architecture is the standard one.
"""

from __future__ import annotations

from torch import Tensor, nn

from common.models.loading import PretrainedInit


class BasicBlock(nn.Module):
    """ResNet-18/34 block: two 3x3 convs (torchvision names conv1/bn1/conv2/bn2/downsample)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + skip)


class Bottleneck(nn.Module):
    """ResNet-50 block: 1x1, 3x3 (stride here, torchvision v1.5), 1x1 with expansion 4."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + skip)


def make_layer(block: type[BasicBlock | Bottleneck], inplanes: int, planes: int, blocks: int,
               stride: int = 1) -> nn.Sequential:
    """`blocks` residual blocks; the first one downsamples (1x1 conv + BN, torchvision's `downsample`)."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                   nn.BatchNorm2d(planes * block.expansion))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNet(nn.Module):
    """torchvision-layout ResNet trunk without the classifier; ResNet-50 = widths [64,128,256,512],
    layers [3,4,6,3], bottleneck. Output: (B, C, H/stride, W/stride) with stride 4 * 2**(len(widths)-1)."""

    def __init__(self, widths: list[int], layers: list[int], bottleneck: bool = True,
                 pretrained: PretrainedInit | None = None) -> None:
        super().__init__()
        block = Bottleneck if bottleneck else BasicBlock
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = widths[0]
        self.num_layers = len(widths)
        for i, (planes, count) in enumerate(zip(widths, layers)):
            self.add_module(f"layer{i + 1}", make_layer(block, inplanes, planes, count, 1 if i == 0 else 2))
            inplanes = planes * block.expansion
        self.out_channels = inplanes
        self.stride = 4 * 2 ** (len(widths) - 1)
        if pretrained is not None:
            pretrained.load_into(self)

    def forward(self, image: Tensor) -> Tensor:
        """Image (B,3,H,W) normalised with ImageNet statistics -> feature map (B,C,H/stride,W/stride)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(image))))
        for i in range(self.num_layers):
            x = getattr(self, f"layer{i + 1}")(x)
        return x
