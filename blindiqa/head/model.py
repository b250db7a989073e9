"""The quality head: window descriptor -> quality embedding, and what the score sees.

A full-rank *linear* head would teach the score nothing: the Mahalanobis distance does
not change under an invertible linear map of the descriptors (apart from the ridge). So
a head either reduces the dimension (``kind="linear"`` or ``"mlp"`` to ``out_dim <
in_dim``) or is non-linear; ``kind="residual"`` is ``x + MLP(x)`` with the MLP's last
layer zero at the start, so that an untrained residual head *is* the training-free
score and training moves away from it only as far as the losses ask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


def init_linear_layers(layers: nn.Module, generator: torch.Generator | None = None) -> None:
    """Seeded initialisation of every ``nn.Linear`` in ``layers``: weights uniform in
    +-1/sqrt(fan_in), biases zero (one draw from ``generator`` per layer, in order), so
    that a seed gives the same network on any machine."""
    for m in layers.modules():
        if isinstance(m, nn.Linear):
            bound = m.in_features ** -0.5
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=generator)
                m.bias.zero_()

#: Head architectures.
KINDS = ("linear", "mlp", "residual")
#: What the distance is computed on: the head's output, or the descriptor and the head's
#: output side by side.
COMBINES = ("head", "concat")


@dataclass(frozen=True)
class HeadConfig:
    """The shape of a :class:`QualityHead` (stored in its checkpoint and in bundles).

    Attributes:
        in_dim: width of the window descriptor (the engine's stacked taps).
        kind: ``"linear"`` (``in_dim -> out_dim``), ``"mlp"`` (``in_dim -> hidden ->
            out_dim`` with a ReLU) or ``"residual"`` (``x + MLP(x)``, ``out_dim =
            in_dim``, zero-initialised output layer).
        hidden: hidden width of ``mlp`` and ``residual``.
        out_dim: width of the embedding (``residual``: must equal ``in_dim``).
        combine: ``"head"``: the score's distance uses the embedding; ``"concat"``: the
            descriptor and the embedding side by side (``in_dim + out_dim``).
    """

    in_dim: int
    kind: str = "mlp"
    hidden: int = 256
    out_dim: int = 64
    combine: str = "head"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"head kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.combine not in COMBINES:
            raise ValueError(f"head combine must be one of {', '.join(COMBINES)}, "
                             f"got {self.combine!r}")
        if min(self.in_dim, self.hidden, self.out_dim) < 1:
            raise ValueError(f"head widths must be positive, got in_dim={self.in_dim}, "
                             f"hidden={self.hidden}, out_dim={self.out_dim}")
        if self.kind == "residual" and self.out_dim != self.in_dim:
            raise ValueError(f"a residual head keeps the width: out_dim must be in_dim "
                             f"({self.in_dim}), got {self.out_dim}")
        if self.kind == "linear" and self.out_dim >= self.in_dim and self.combine == "head":
            raise ValueError(f"a linear head must reduce the dimension (out_dim < "
                             f"{self.in_dim}): the Mahalanobis distance does not change "
                             "under an invertible linear map")

    @property
    def score_dim(self) -> int:
        """Width of what the distance is computed on."""
        return self.out_dim + (self.in_dim if self.combine == "concat" else 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HeadConfig:
        known = {"in_dim", "kind", "hidden", "out_dim", "combine"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown head setting(s) {', '.join(unknown)}")
        return cls(**d)


class QualityHead(nn.Module):
    """Window descriptors ``(N, in_dim)`` -> quality embeddings ``(N, out_dim)``.

    Args:
        config: the head's shape.
        generator: seeds the initial weights (None: torch's global generator).
    """

    def __init__(self, config: HeadConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        c = config
        if c.kind == "linear":
            self.layers = nn.Sequential(nn.Linear(c.in_dim, c.out_dim))
        else:
            self.layers = nn.Sequential(nn.Linear(c.in_dim, c.hidden), nn.ReLU(),
                                        nn.Linear(c.hidden, c.out_dim))
        self._init(generator)

    def _init(self, generator: torch.Generator | None) -> None:
        init_linear_layers(self.layers, generator)
        if self.config.kind == "residual":
            with torch.no_grad():
                self.layers[-1].weight.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding of descriptors ``(..., in_dim)``."""
        if x.shape[-1] != self.config.in_dim:
            raise ValueError(f"the head takes {self.config.in_dim}-d descriptors, got "
                             f"{x.shape[-1]}-d")
        y = self.layers(x)
        return x + y if self.config.kind == "residual" else y

    @torch.no_grad()
    def score_features(self, x: torch.Tensor) -> torch.Tensor:
        """What the distance is computed on, float64: the embedding, or the descriptor
        and the embedding side by side (``combine``), of ``(N, in_dim)`` descriptors."""
        w = self.layers[0].weight
        emb = self(x.to(w.device, w.dtype)).to(x.device, torch.float64)
        if self.config.combine == "concat":
            return torch.cat([x.double(), emb], dim=1)
        return emb

    def extra_repr(self) -> str:
        c = self.config
        return f"{c.kind}: {c.in_dim} -> {c.out_dim} (hidden {c.hidden}), combine={c.combine}"
