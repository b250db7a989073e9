"""Crop features: input normalisation, a network, chosen layers, global average pooling
(the crops path's features, and those the encoder is trained on)."""

from __future__ import annotations

import torch
from torch import nn

from blindiqa.encoders.normalization import InputNormalization


class FeatureExtractor(nn.Module):
    """Turn a batch of patches (N, 3, h, w) in [0, 1] into feature vectors (N, D).

    The features of several layers are globally average-pooled and concatenated.

    Args:
        network: a module with ``forward_features(x, layers)`` and ``layer_channels``.
        layers: names of the layers to tap.
        normalization: a key of :data:`~blindiqa.encoders.NORMALIZATIONS`.
    """

    def __init__(self, network: nn.Module, layers: tuple[str, ...],
                 normalization: str = "none") -> None:
        super().__init__()
        self.normalize = InputNormalization(normalization)
        if not layers:
            raise ValueError("at least one feature layer is needed")
        self.network = network
        self.layers = tuple(layers)
        self.dims = [network.layer_channels(n) for n in self.layers]  # validates names
        self.normalization = normalization

    @property
    def feature_dim(self) -> int:
        return sum(self.dims)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        x = self.normalize(patches)
        maps = self.network.forward_features(x, self.layers)
        return torch.cat([maps[n].mean(dim=(2, 3)) for n in self.layers], dim=1)
