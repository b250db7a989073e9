"""Torch-free copies of the choices and defaults that the command-line parsers show.

The parsers are built for every ``blindiqa`` call, ``--help`` and bad usage included, so
they must not import torch: the real values live in torch-side modules (the encoder
registry, :class:`~blindiqa.onepass.OnePassConfig`, :mod:`blindiqa.crops`,
:mod:`blindiqa.io.workers`). They are copied here as constants, and
``tests/cli/test_choices.py`` checks that each copy equals its source, so the two cannot
drift apart.
"""

from __future__ import annotations

from typing import NamedTuple

#: ``[e.name for e in blindiqa.encoders.list_encoders()]``.
ENCODERS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",
            "inception_v3_fid", "mobilenet_v2", "resnet18", "resnet50")

#: ``sorted(blindiqa.encoders.NORMALIZATIONS)``.
NORMALIZATIONS = ("imagenet", "inception", "lite", "none")


class OnePassDefaults(NamedTuple):
    """The fields of ``OnePassConfig()`` that ``fit-pristine --help`` shows."""

    encoder: str
    taps: tuple[str, ...]
    grid_stride: int
    window: int
    window_stride: int
    max_side: int


#: ``blindiqa.onepass.OnePassConfig()``: what fit-pristine builds unless told otherwise.
ONE_PASS_DEFAULTS = OnePassDefaults(encoder="efficientnet_lite2",
                                    taps=("stage2", "stage3", "stage4", "stage5"),
                                    grid_stride=16, window=3, window_stride=1, max_side=1024)

#: ``blindiqa.crops.PATCH_SIZE`` and ``PATCH_STRIDE``: the crops path's crops.
PATCH_SIZE = 96
PATCH_STRIDE = 48

#: ``blindiqa.io.workers.DEFAULT_TIMEOUT``: seconds a decoding worker may take per file.
DECODE_TIMEOUT = 120.0

#: ``blindiqa.ablate.runner.VARIANT_KEYS``: the variants of ``blindiqa ablate``, in order.
ABLATION_VARIANTS = ("synthetic", "authentic", "mi-loglik", "mi-contrastive")

__all__ = ["ABLATION_VARIANTS", "DECODE_TIMEOUT", "ENCODERS", "ONE_PASS_DEFAULTS",
           "NORMALIZATIONS", "PATCH_SIZE", "PATCH_STRIDE", "OnePassDefaults"]
