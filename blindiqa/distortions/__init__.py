"""The 25 synthetic distortion types of KADID-10k, 5 levels each, in batched torch.

Our implementation of the distortions of KADID-10k (Lin, Hosu, Saupe, "KADID-10k: A
Large-scale Artificially Distorted IQA Database", QoMEX 2019), used to build the
synthetic scenes of Stage 1 (contrastive pre-training) on the fly:

>>> import torch
>>> from blindiqa.distortions import apply_distortion, random_distortions
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.rand(4, 3, 128, 128)
>>> y = apply_distortion(x, "motion_blur", 3, generator=g)
>>> y, kind, level = random_distortions(x, generator=g)

Inputs are ``(N, 3, H, W)`` floating-point tensors in ``[0, 1]`` on any device; every random
draw takes the given ``torch.Generator`` and is made on the generator's device, so a CPU
generator gives the same distortion on CPU and CUDA (for speed on CUDA, pass
``torch.Generator(device="cuda")``). JPEG, JPEG2000 and colour quantisation go through
Pillow image by image on the CPU; everything else is torch. Families:
``blur``, ``color``, ``compression``, ``noise``, ``brightness``, ``spatial``, ``sharpness``.
:func:`make_sheet` draws all types and levels on one image as a contact sheet.
"""

from blindiqa.distortions.registry import (
    DISTORTIONS,
    FAMILIES,
    NAMES,
    NUM_LEVELS,
    Distortion,
    apply_distortion,
    distortion_index,
    get_distortion,
    list_distortions,
    random_distortions,
)
from blindiqa.distortions.sheet import make_sheet

__all__ = [
    "DISTORTIONS",
    "FAMILIES",
    "NAMES",
    "NUM_LEVELS",
    "Distortion",
    "apply_distortion",
    "distortion_index",
    "get_distortion",
    "list_distortions",
    "make_sheet",
    "random_distortions",
]
