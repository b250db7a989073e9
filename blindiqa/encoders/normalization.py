"""Input normalisation: the per-channel ``(x - mean) / std`` each encoder expects, shared
by both scoring paths (crops and one-pass) and by training."""

from __future__ import annotations

import torch
from torch import nn

#: Input normalisations: (mean, std) per RGB channel applied to [0, 1] inputs.
NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    # EfficientNet-Lite's own preprocessing: (x*255 - 127.5) / 127.5 ~ [-1, 1]
    "lite": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    # the TensorFlow FID Inception-v3: (x*255 - 128) / 128, in [-1, 127/128]
    "inception": ((128 / 255,) * 3, (128 / 255,) * 3),
}


class InputNormalization(nn.Module):
    """``(x - mean) / std`` per RGB channel, for one of :data:`NORMALIZATIONS`.

    Args:
        name: a key of :data:`NORMALIZATIONS`.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        if name not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {name!r}; known: {sorted(NORMALIZATIONS)}")
        self.name = name
        mean, std = NORMALIZATIONS[name]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
