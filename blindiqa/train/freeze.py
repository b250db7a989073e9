"""Frozen blocks of the Stage-2 encoder (``blindiqa train authentic --freeze``).

The paper (Babu et al., WACV 2023) trains ResNet-50's ``conv1, bn1, layer3, layer4`` in
Stage 2 and freezes ``layer1, layer2``; for EfficientNet-Lite the equivalent is freezing
``stage1..stage3`` (everything up to stride 8) and training the stem and ``stage4..``
(see :data:`DEFAULT_FREEZE`). :func:`freeze_groups` names the blocks of a network,
:func:`parse_freeze` reads a ``--freeze`` value, :func:`apply_freeze` stops their
gradients and returns their modules, which the stage keeps in eval mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from blindiqa.encoders.efficientnet_lite import EfficientNetLite
from blindiqa.encoders.resnet import ResNet

#: Blocks frozen by default, per encoder family (see :func:`freeze_groups`): every block
#: up to stride 8, the paper's cut (ResNet ``layer1, layer2``; EfficientNet-Lite
#: ``stage1..stage3``). docs/training.md, "Frozen blocks", has the measurement that
#: kept it.
DEFAULT_FREEZE: dict[str, tuple[str, ...]] = {
    "resnet": ("layer1", "layer2"),
    "efficientnet_lite": ("stage1", "stage2", "stage3"),
}


def freeze_groups(network: nn.Module) -> dict[str, list[nn.Module]]:
    """The blocks of a network that ``--freeze`` can name, in input-to-output order.

    ResNet: ``stem`` (conv1, bn1), ``layer1`` .. ``layer4``, ``fc``. EfficientNet-Lite:
    ``stem`` (conv + BN), ``stage1`` .. ``stage7`` (the MBConv blocks of each stage),
    ``head`` (1x1 conv + BN), ``fc``.

    Raises:
        ValueError: a network of another kind.
    """
    if isinstance(network, ResNet):
        groups = {"stem": [network.conv1, network.bn1]}
        groups.update({f"layer{i}": [getattr(network, f"layer{i}")] for i in range(1, 5)})
        groups["fc"] = [network.fc]
        return groups
    if isinstance(network, EfficientNetLite):
        groups = {"stem": [network._conv_stem, network._bn0]}
        start = 0
        for i, end in enumerate(network.stage_ends):
            groups[f"stage{i + 1}"] = list(network._blocks[start:end + 1])
            start = end + 1
        groups["head"] = [network._conv_head, network._bn1]
        groups["fc"] = [network._fc]
        return groups
    raise ValueError(f"freezing is defined for ResNet and EfficientNet-Lite, not "
                     f"{type(network).__name__}")


def default_freeze(network: nn.Module) -> tuple[str, ...]:
    """:data:`DEFAULT_FREEZE` of the network's family."""
    if isinstance(network, ResNet):
        return DEFAULT_FREEZE["resnet"]
    if isinstance(network, EfficientNetLite):
        return DEFAULT_FREEZE["efficientnet_lite"]
    return ()


def parse_freeze(text: str | None, network: nn.Module) -> tuple[str, ...]:
    """Block names from a ``--freeze`` value.

    Args:
        text: None or ``"default"`` (:func:`default_freeze`), ``"none"``, or a comma
            list of block names and ranges (``stage1-3`` = stage1,stage2,stage3).
        network: the network the names refer to.

    Raises:
        ValueError: an unknown name.
    """
    if text is None or text.strip() == "default":
        return default_freeze(network)
    if text.strip() in ("", "none"):
        return ()
    groups = freeze_groups(network)
    out: list[str] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        names = [item]
        head = item.rstrip("0123456789-")
        rest = item[len(head):]
        if "-" in rest:
            lo, _, hi = rest.partition("-")
            if not (lo.isdigit() and hi.isdigit()):
                raise ValueError(f"bad block range {item!r}")
            names = [f"{head}{i}" for i in range(int(lo), int(hi) + 1)]
        for name in names:
            if name not in groups:
                raise ValueError(f"unknown block {name!r} to freeze; known: "
                                 f"{', '.join(groups)}")
            if name not in out:
                out.append(name)
    order = list(groups)
    return tuple(sorted(out, key=order.index))


def apply_freeze(network: nn.Module, names: Sequence[str]) -> list[nn.Module]:
    """Stop the gradients of the named blocks; returns their modules (to keep in eval)."""
    groups = freeze_groups(network)
    modules = [m for n in names for m in groups[n]]
    for m in modules:
        for p in m.parameters():
            p.requires_grad_(False)
    return modules
