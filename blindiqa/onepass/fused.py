"""An inference copy of EfficientNet-Lite for the engine: BatchNorm folded into the
convolutions, and fixed padding instead of "same" padding computed at every call.

The engine pads every image to a multiple of :data:`~blindiqa.onepass.config.PAD_MULTIPLE`
pixels, so every map a strided convolution sees has an even size and TensorFlow's
"same" padding is always the same: ``(k - 1) / 2`` on each side at stride 1, and
``(k - 3) / 2`` before / ``(k - 1) / 2`` after at stride 2. That uneven padding needs no
padded copy of the input map: a ``(k + 1) x (k + 1)`` kernel whose first row and column
are zeros, with ``(k - 1) / 2`` on each side, takes the same input pixels with the same
weights (output ``j`` reads rows ``2j - (k - 3) / 2 ...``), and the extra zero weights add
exact zeros. Copying the maps for the padding took about a tenth of the encoder's time
(500x500 photo: 44.6 -> 40.0 ms, median of 6 x 20; the maps are equal to the bit). The
outputs equal the original network's to float rounding (a test checks it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from blindiqa.encoders.efficientnet_lite import EfficientNetLite, MBConv, run_stages


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution equal to ``bn(conv(x))`` in eval mode (float64 folding) with the
    fixed "same" padding of an even-sized input: at stride 2, a kernel one larger whose
    first row and column are zeros, padded evenly (see the module docstring)."""
    scale = bn.weight.double() / (bn.running_var.double() + bn.eps).sqrt()
    k, s = conv.kernel_size[0], conv.stride[0]
    if s not in (1, 2) or k % 2 == 0:
        raise ValueError(f"only odd kernels at stride 1 or 2 fold, got {k}x{k} at stride {s}")
    weight = conv.weight.double() * scale.view(-1, 1, 1, 1)
    if s == 2:
        weight = F.pad(weight, (1, 0, 1, 0))
    out = nn.Conv2d(conv.in_channels, conv.out_channels, weight.shape[-1], stride=s,
                    padding=(k - 1) // 2, groups=conv.groups, bias=True)
    with torch.no_grad():
        out.weight.copy_(weight.float())
        out.bias.copy_((bn.bias.double() - bn.running_mean.double() * scale).float())
    return out.to(conv.weight.device)


class _FoldedConv(nn.Module):
    """A folded convolution with the fixed "same" padding of an even-sized input."""

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, act: bool) -> None:
        super().__init__()
        self.conv = _fold(conv, bn)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return F.relu6(x, inplace=True) if self.act else x


class _FoldedBlock(nn.Module):
    def __init__(self, block: MBConv) -> None:
        super().__init__()
        ops = []
        if block.has_expand:
            ops.append(_FoldedConv(block._expand_conv, block._bn0, act=True))
        ops.append(_FoldedConv(block._depthwise_conv, block._bn1, act=True))
        ops.append(_FoldedConv(block._project_conv, block._bn2, act=False))
        self.ops = nn.Sequential(*ops)
        self.residual = block.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ops(x)
        return y.add_(x) if self.residual else y


class FoldedLite(nn.Module):
    """EfficientNet-Lite's feature taps (not ``logits``) for inputs whose sides are
    multiples of 32, with BatchNorm folded in. Built from an eval-mode network.

    Args:
        net: the network to copy (its weights are read once; later changes to it are
            not seen).
    """

    def __init__(self, net: EfficientNetLite) -> None:
        super().__init__()
        self.source_names = net.layer_names
        self._channels = {n: net.layer_channels(n) for n in net.layer_names}
        self.stem = _FoldedConv(net._conv_stem, net._bn0, act=True)
        self.blocks = nn.ModuleList(_FoldedBlock(b) for b in net._blocks)
        self.stage_ends = list(net.stage_ends)
        self.head = _FoldedConv(net._conv_head, net._bn1, act=True)

    def layer_channels(self, name: str) -> int:
        if name not in self._channels or name == "logits":
            raise ValueError(f"unknown layer {name!r} for the folded network; available: "
                             f"{', '.join(n for n in self.source_names if n != 'logits')}")
        return self._channels[name]

    def forward_features(self, x: torch.Tensor, layers: tuple[str, ...]
                         ) -> dict[str, torch.Tensor]:
        """Feature maps ``{layer: (N, C, h, w)}`` up to the deepest requested layer."""
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"the folded network needs sides that are multiples of 32, "
                             f"got {tuple(x.shape[-2:])}")
        for name in layers:
            self.layer_channels(name)
        order = {n: i for i, n in enumerate(self.source_names)}
        deepest = max(order[n] for n in layers)
        out: dict[str, torch.Tensor] = {}
        x = self.stem(x)
        if "stem" in layers:
            out["stem"] = x
        # the blocks' in-place operations touch only maps the block made itself
        x = run_stages(x, self.blocks, self.stage_ends, deepest, layers, out)
        if deepest >= order["head"]:
            out["head"] = self.head(x)
        return out


def inference_network(net: nn.Module) -> nn.Module:
    """The fastest equivalent of ``net`` for the engine: :class:`FoldedLite` for an
    EfficientNet-Lite in eval mode, the network itself otherwise."""
    if isinstance(net, EfficientNetLite) and not net.training:
        return FoldedLite(net)
    return net
