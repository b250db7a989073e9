"""ResNet-18 / ResNet-50 (He et al., "Deep Residual Learning for Image Recognition",
CVPR 2016), defined here so that no torchvision is needed. Parameter names follow the
common ``conv1 / bn1 / layer1..4 / fc`` convention, so such checkpoints load as they are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.downsample = _downsample(in_ch, ch * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.conv3 = nn.Conv2d(ch, ch * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ch * self.expansion)
        self.downsample = _downsample(in_ch, ch * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def _downsample(in_ch: int, out_ch: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))


_DEPTHS = {"resnet18": (BasicBlock, (2, 2, 2, 2)), "resnet50": (Bottleneck, (3, 4, 6, 3))}


class ResNet(nn.Module):
    """ResNet with named feature taps ``stem``, ``layer1`` ... ``layer4``, ``logits``."""

    def __init__(self, variant: str = "resnet50", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in _DEPTHS:
            raise ValueError(f"unknown ResNet variant {variant!r}; known: {sorted(_DEPTHS)}")
        block, depths = _DEPTHS[variant]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        in_ch = 64
        self.channels: list[int] = []
        for i, (n, ch) in enumerate(zip(depths, (64, 128, 256, 512), strict=True)):
            layers = []
            for j in range(n):
                layers.append(block(in_ch, ch, (1 if i == 0 else 2) if j == 0 else 1))
                in_ch = ch * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
            self.channels.append(in_ch)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def layer_names(self) -> tuple[str, ...]:
        return ("stem", "layer1", "layer2", "layer3", "layer4", "logits")

    def layer_channels(self, name: str) -> int:
        if name == "stem":
            return 64
        if name.startswith("layer") and name[5:] in ("1", "2", "3", "4"):
            return self.channels[int(name[5:]) - 1]
        if name == "logits":
            return self.fc.out_features
        raise ValueError(f"unknown layer {name!r}; available: {', '.join(self.layer_names)}")

    def forward_features(self, x: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Feature maps ``{layer: (N, C, h, w)}`` up to the deepest requested layer."""
        for name in layers:
            self.layer_channels(name)
        order = {n: i for i, n in enumerate(self.layer_names)}
        deepest = max(order[n] for n in layers)
        out: dict[str, torch.Tensor] = {}
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        if "stem" in layers:
            out["stem"] = x
        for i in range(1, 5):
            if i > deepest:
                break
            x = getattr(self, f"layer{i}")(x)
            if f"layer{i}" in layers:
                out[f"layer{i}"] = x
        if "logits" in layers:
            out["logits"] = self.fc(x.mean(dim=(2, 3)))[:, :, None, None]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x, ("logits",))["logits"].flatten(1)
