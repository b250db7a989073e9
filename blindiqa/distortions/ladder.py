"""The demo's ladder: one sample photo, blurred, JPEG-compressed and noised at three
strengths each, from mild to strong.

``blindiqa demo`` scores and draws it; ``benchmarks/select_default.py`` checks how many
of its 9 versions a candidate model scores worse than the original. The steps are this
package's distortions (:mod:`~blindiqa.distortions.blur`,
:mod:`~blindiqa.distortions.compression`, :mod:`~blindiqa.distortions.noise`) applied to
8-bit images, and give 8-bit images back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from blindiqa.distortions.blur import gaussian_blur
from blindiqa.distortions.compression import jpeg
from blindiqa.distortions.noise import white_noise

#: A distortion of an RGB image at one strength.
Step = Callable[[Image.Image], Image.Image]
#: (name, [(strength label, step)]), strengths from mild to strong.
Rung = tuple[str, list[tuple[str, Step]]]


def on_pil(distort: Callable[..., torch.Tensor], *args: object, seed: int | None = None
           ) -> Step:
    """``distort(images, *args, generator=)`` as a step on 8-bit RGB images: the result
    is clipped to ``[0, 1]`` and rounded to 8 bits; ``seed`` seeds the generator."""

    def step(im: Image.Image) -> Image.Image:
        x = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0)
        g = None if seed is None else torch.Generator().manual_seed(seed)
        y = distort(x.permute(2, 0, 1)[None], *args, generator=g).clamp(0, 1)
        return Image.fromarray((y[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy())

    return step


LADDER: list[Rung] = [
    ("Gaussian blur", [(f"sigma {s}", on_pil(gaussian_blur, s)) for s in (1, 2, 4)]),
    ("JPEG", [(f"quality {q}", on_pil(jpeg, q)) for q in (30, 10, 3)]),
    ("white noise", [(f"sigma {s}", on_pil(white_noise, s * s, seed=0))
                     for s in (0.03, 0.08, 0.15)]),
]


def sample_photo() -> Image.Image:
    """A photograph shipped by scikit-image ('coffee'; the optional ``demo`` extra).

    Raises:
        ValueError: scikit-image is not installed.
    """
    try:
        from skimage import data
    except ImportError as exc:
        raise ValueError('the demo needs scikit-image: pip install "blindiqa[demo]"') from exc
    return Image.fromarray(data.coffee()).convert("RGB")


def ladder_images(photo: Image.Image) -> list[Image.Image]:
    """``photo`` and its 9 distorted versions, in :data:`LADDER` order."""
    return [photo, *(step(photo) for _, steps in LADDER for _, step in steps)]
