"""The 25 KADID-10k distortion types, 5 levels each, and how to apply them.

Types and their order follow KADID-10k (Lin, Hosu, Saupe, "KADID-10k: A Large-scale
Artificially Distorted IQA Database", QoMEX 2019): index ``i`` of :data:`DISTORTIONS` is
KADID-10k type ``i + 1``. Level parameters are KADID-10k's where those are ordered from
barely visible (level 1) to strong (level 5); where they are not (a level-1 value that
does nothing, or levels not ordered by strength) ours are stated in ``notes``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from blindiqa.distortions import (
    _common,
    blur,
    brightness,
    color,
    compression,
    noise,
    sharpness,
    spatial,
)

DistortionFn = Callable[[torch.Tensor, Any, "torch.Generator | None"], torch.Tensor]

#: Number of levels of every type.
NUM_LEVELS = 5


@dataclass(frozen=True)
class Distortion:
    """One distortion type.

    Attributes:
        name: identifier (``snake_case``).
        family: ``blur``, ``color``, ``compression``, ``noise``, ``brightness``,
            ``spatial`` or ``sharpness`` (KADID-10k's groups).
        kadid_id: KADID-10k's type number (1-25).
        param: what the level parameter is.
        levels: the parameter of levels 1..5.
        fn: ``fn(images, param, generator) -> images``, on ``(N, 3, H, W)`` in ``[0, 1]``.
        kadid_levels: KADID-10k's own parameters, for reference.
        random: whether ``fn`` draws from the generator.
        notes: where and why ours differ from KADID-10k.
    """

    name: str
    family: str
    kadid_id: int
    param: str
    levels: tuple[Any, ...]
    fn: DistortionFn
    kadid_levels: tuple[Any, ...]
    random: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        if len(self.levels) != NUM_LEVELS:
            raise ValueError(f"{self.name}: need {NUM_LEVELS} levels, got {len(self.levels)}")

    def __call__(self, images: torch.Tensor, level: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Same as ``apply_distortion(images, self.name, level, generator)``."""
        return apply_distortion(images, self.name, level, generator)


DISTORTIONS: tuple[Distortion, ...] = (
    Distortion("gaussian_blur", "blur", 1, "sigma (px)", (0.5, 1.0, 1.5, 2.5, 5.0),
               blur.gaussian_blur, (0.1, 0.5, 1, 2, 5),
               notes="KADID's level 1 (sigma 0.1) changes nothing; levels shifted up"),
    Distortion("lens_blur", "blur", 2, "disk radius (px)", (1, 2, 4, 6, 8),
               blur.lens_blur, (1, 2, 4, 6, 8)),
    Distortion("motion_blur", "blur", 3, "length (px)", (2, 3, 5, 7, 10),
               blur.motion_blur, (1, 2, 4, 6, 10), random=True,
               notes="KADID's level 1 (length 1) changes nothing; random angle per image"),
    Distortion("color_diffusion", "color", 4, "amount a (blur 1.5a+2, gain a)",
               (1, 3, 6, 8, 12), color.color_diffusion, (1, 3, 6, 8, 12)),
    Distortion("color_shift", "color", 5, "green shift (px)", (1, 3, 6, 8, 12),
               color.color_shift, (1, 3, 6, 8, 12), random=True,
               notes="random direction per image; displaced edges blended in too"),
    Distortion("color_quantization", "color", 6, "palette colours", (64, 48, 32, 16, 8),
               color.color_quantization, (64, 48, 32, 16, 8),
               notes="Pillow median cut + Floyd-Steinberg (KADID: MATLAB rgb2ind)"),
    Distortion("color_saturation_1", "color", 7, "HSV saturation factor",
               (0.7, 0.5, 0.25, 0.0, -0.4), color.color_saturation_hsv,
               (0.4, 0.2, 0.1, 0, -0.4),
               notes="KADID's level 1 (0.4) is far from barely visible; levels 1-3 milder"),
    Distortion("color_saturation_2", "color", 8, "Lab chroma factor", (1.5, 2, 3, 6, 9),
               color.color_saturation_lab, (1, 2, 3, 6, 9),
               notes="KADID's level 1 (factor 1) changes nothing"),
    Distortion("jpeg2000", "compression", 9, "compression ratio", (16, 32, 45, 120, 400),
               compression.jpeg2000, (16, 32, 45, 120, 400),
               notes="Pillow/OpenJPEG; torch wavelet fallback without OpenJPEG"),
    Distortion("jpeg", "compression", 10, "JPEG quality", (43, 36, 24, 7, 4),
               compression.jpeg, (43, 36, 24, 7, 4)),
    Distortion("white_noise", "noise", 11, "variance", (0.001, 0.002, 0.003, 0.005, 0.01),
               noise.white_noise, (0.001, 0.002, 0.003, 0.005, 0.01), random=True),
    Distortion("white_noise_color_component", "noise", 12, "YCbCr variance",
               (0.0001, 0.0005, 0.001, 0.002, 0.003), noise.white_noise_color_component,
               (0.0001, 0.0005, 0.001, 0.002, 0.003), random=True),
    Distortion("impulse_noise", "noise", 13, "density", (0.001, 0.005, 0.01, 0.02, 0.03),
               noise.impulse_noise, (0.001, 0.005, 0.01, 0.02, 0.03), random=True),
    Distortion("multiplicative_noise", "noise", 14, "variance",
               (0.001, 0.005, 0.01, 0.02, 0.05), noise.multiplicative_noise,
               (0.001, 0.005, 0.01, 0.02, 0.05), random=True),
    Distortion("denoise", "noise", 15, "noise variance", (0.001, 0.003, 0.006, 0.012, 0.025),
               noise.denoise, (0.01, 0.03, 0.05, 0.1, 0.15), random=True,
               notes="sliding-window DCT denoiser instead of DnCNN; weaker noise at level 1"),
    Distortion("brighten", "brightness", 16, "amount", (0.1, 0.2, 0.4, 0.7, 1.1),
               brightness.brighten, (0.1, 0.2, 0.4, 0.7, 1.1)),
    Distortion("darken", "brightness", 17, "amount", (0.05, 0.1, 0.2, 0.4, 0.8),
               brightness.darken, (0.05, 0.1, 0.2, 0.4, 0.8)),
    Distortion("mean_shift", "brightness", 18, "shift magnitude", (0.04, 0.07, 0.1, 0.15, 0.2),
               brightness.mean_shift, (0.15, 0.08, 0, -0.08, -0.15), random=True,
               notes="KADID's levels are not ordered by strength; random sign per image"),
    Distortion("jitter", "spatial", 19, "displacement std (px)", (0.05, 0.1, 0.2, 0.5, 1.0),
               spatial.jitter, (0.05, 0.1, 0.2, 0.5, 1), random=True),
    Distortion("non_eccentricity_patch", "spatial", 20, "patches", (20, 40, 60, 80, 100),
               spatial.non_eccentricity_patch, (20, 40, 60, 80, 100), random=True,
               notes="patch size scaled with sqrt(image area / 512x384)"),
    Distortion("pixelate", "spatial", 21, "strength", (0.01, 0.05, 0.1, 0.2, 0.5),
               spatial.pixelate, (0.01, 0.05, 0.1, 0.2, 0.5)),
    Distortion("quantization", "spatial", 22, "thresholds", (20, 16, 13, 10, 7),
               spatial.quantization, (20, 16, 13, 10, 7),
               notes="1-D k-means levels (= multi-level Otsu), values to class means"),
    Distortion("color_block", "spatial", 23, "blocks", (2, 4, 6, 8, 10),
               spatial.color_block, (2, 4, 6, 8, 10), random=True,
               notes="block size scaled with sqrt(image area / 512x384)"),
    Distortion("high_sharpen", "sharpness", 24, "unsharp amount", (0.5, 1, 2, 5, 12),
               sharpness.high_sharpen, (1, 2, 3, 6, 12),
               notes="KADID's level 1 (amount 1) is clearly visible; levels 1-4 milder"),
    Distortion("contrast_change", "sharpness", 25, "(increase, decrease)",
               ((0.1, 0.1), (0.2, 0.2), (0.3, 0.35), (0.45, 0.5), (0.6, 0.65)),
               sharpness.contrast_change, (0.3, 0.15, 0, -0.4, -0.6), random=True,
               notes="KADID's levels are not ordered by strength; random direction"),
)

_BY_NAME: dict[str, int] = {d.name: i for i, d in enumerate(DISTORTIONS)}

#: Names of the 25 types in KADID-10k order.
NAMES: tuple[str, ...] = tuple(d.name for d in DISTORTIONS)

#: Families in KADID-10k order.
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(d.family for d in DISTORTIONS))


def get_distortion(name: str) -> Distortion:
    """The :class:`Distortion` called ``name``.

    Raises:
        ValueError: no such distortion.
    """
    try:
        return DISTORTIONS[_BY_NAME[name]]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown distortion {name!r}; known: {', '.join(NAMES)}"
        ) from None


def distortion_index(name: str) -> int:
    """Index of ``name`` in :data:`DISTORTIONS` (KADID-10k type number minus 1)."""
    get_distortion(name)
    return _BY_NAME[name]


def list_distortions(family: str | None = None) -> list[str]:
    """Names of all distortion types (of one ``family`` if given), in KADID-10k order.

    Raises:
        ValueError: unknown family.
    """
    if family is None:
        return list(NAMES)
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    return [d.name for d in DISTORTIONS if d.family == family]


def check_level(level: object) -> int:
    """Return ``level`` as an int in ``1..5``.

    Raises:
        ValueError: not an integer in ``1..5``.
    """
    if isinstance(level, bool):
        raise ValueError(f"level must be an integer in 1..{NUM_LEVELS}, got {level!r}")
    try:
        value = operator.index(level)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(
            f"level must be an integer in 1..{NUM_LEVELS}, got {level!r}"
        ) from None
    if not 1 <= value <= NUM_LEVELS:
        raise ValueError(f"level must be in 1..{NUM_LEVELS}, got {value}")
    return value


def apply_distortion(images: torch.Tensor, name: str, level: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply distortion ``name`` at ``level`` to a batch of images.

    Args:
        images: ``(N, 3, H, W)`` floating-point tensor in ``[0, 1]`` (``H, W >= 32``), on
            any device.
        name: one of :func:`list_distortions`.
        level: 1 (barely visible) ... 5 (strong).
        generator: source of every random draw (for the random types); the same seed
            gives the same output. ``None`` uses torch's global generator.

    Returns:
        A tensor of the same shape, dtype and device, with values in ``[0, 1]``.

    Raises:
        ValueError: unknown name, level outside ``1..5`` or images of the wrong shape.
    """
    dist = get_distortion(name)
    value = check_level(level)
    _common.check_images(images)
    x = images.detach().to(_common.work_dtype(images.dtype))
    out = dist.fn(x, dist.levels[value - 1], generator)
    return out.clamp(0.0, 1.0).to(images.dtype)


def random_distortions(images: torch.Tensor, generator: torch.Generator | None = None,
                       names: Sequence[str] | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Distort every image with its own random type and level (for training).

    Type (uniform over ``names``, default all 25) and level (uniform over 1..5) are drawn
    per image from ``generator``; images sharing a (type, level) are distorted together,
    groups in increasing (type, level) order, so the result is fixed by the seed.

    Args:
        images: ``(N, 3, H, W)`` in ``[0, 1]``.
        generator: source of every random draw.
        names: the types to draw from (default: all).

    Returns:
        ``(distorted, type_index, level)``: the distorted batch, the index of each image's
        type in :data:`DISTORTIONS` (int64, ``(N,)``) and its level (int64, ``(N,)``, 1..5),
        both on the images' device.

    Raises:
        ValueError: bad images or unknown / empty ``names``.
    """
    _common.check_images(images)
    pool = list(NAMES) if names is None else list(names)
    if not pool:
        raise ValueError("names must not be empty")
    pool_idx = torch.tensor([distortion_index(n) for n in pool])
    n = images.shape[0]
    pick = _common.randint(len(pool), (n,), generator, torch.device("cpu"))
    levels = _common.randint(NUM_LEVELS, (n,), generator, torch.device("cpu")) + 1
    types = pool_idx[pick]
    out = torch.empty_like(images)
    keys = sorted({(int(t), int(v)) for t, v in zip(types.tolist(), levels.tolist(), strict=True)})
    for t, v in keys:
        sel = torch.nonzero((types == t) & (levels == v)).flatten()
        sel_dev = sel.to(images.device)
        out[sel_dev] = apply_distortion(images[sel_dev], NAMES[t], v, generator)
    return out, types.to(images.device), levels.to(images.device)
