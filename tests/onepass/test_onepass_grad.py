"""The engine's score as a differentiable function: the same values as the float path,
finite gradients where a window's channel is all zero, gradcheck of the distance."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from blindiqa.gaussian import gaussian_distance, gaussian_distance_tensor
from blindiqa.onepass import (
    OnePassConfig,
    OnePassEncoder,
    Windows,
    build_one_pass_encoder,
    score_windows,
    score_windows_tensor,
    windows,
)
from blindiqa.onepass.windows import safe_sqrt

CFG = OnePassConfig(encoder="efficientnet_lite0", taps=("stage2", "stage3"), grid_stride=8,
                    window=3, window_stride=1, normalization="imagenet")


def gaussian(dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(dim, dim, generator=g, dtype=torch.float64)
    return torch.randn(dim, generator=g, dtype=torch.float64), a @ a.T / dim


def test_safe_sqrt_values_and_gradient_at_zero():
    x = torch.tensor([-1e-9, 0.0, 0.25, 4.0], dtype=torch.float64, requires_grad=True)
    y = safe_sqrt(x)
    assert torch.equal(y.detach(), x.detach().clamp_min(0).sqrt())
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.25]


def test_a_zero_channel_gives_finite_gradients():
    """A channel that is zero over the whole grid (a dead ReLU6 map) has zero standard
    deviation; its square root must not send NaN back."""
    grid = torch.rand(4, 5, 6, dtype=torch.float64)
    grid[1] = 0.0
    grid.requires_grad_(True)
    wins = windows(grid, CFG, [2, 2])
    (wins.features.sum() + wins.activity.sum()).backward()
    assert torch.isfinite(grid.grad).all() and grid.grad.abs().sum() > 0
    assert wins.features.dtype == torch.float64


@pytest.mark.parametrize("distance", ["patch", "mean"])
def test_tensor_score_equals_the_float_score_and_passes_gradcheck(distance):
    mean, cov = gaussian(5, 0)
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(7, 5, generator=g, dtype=torch.float64)
    act = torch.rand(7, generator=g, dtype=torch.float64)
    wins = Windows(feats, act, (7, 1), 1)
    score, _ = score_windows(wins, mean, cov, distance, 1e-3)
    tensor, _ = score_windows_tensor(wins, mean, cov, distance, 1e-3)
    assert tensor.shape == () and float(tensor) == score

    def f(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return score_windows_tensor(Windows(x, a, (7, 1), 1), mean, cov, distance, 1e-3)[0]

    assert torch.autograd.gradcheck(f, (feats.clone().requires_grad_(True),
                                        act.clone().requires_grad_(True)))


def test_gaussian_distance_tensor():
    mean, cov = gaussian(4, 2)
    mu_t, cov_t = gaussian(4, 3)
    mu_t.requires_grad_(True)
    d = gaussian_distance_tensor(mean, cov, mu_t, cov_t)
    assert float(d.detach()) == gaussian_distance(mean, cov, mu_t.detach(), cov_t)
    d.backward()
    assert torch.isfinite(mu_t.grad).all() and mu_t.grad.abs().sum() > 0


def test_tiled_pass_is_differentiable():
    """The tiled pass writes tiles into one grid; the gradient reaches every pixel."""
    torch.manual_seed(0)
    encoder = build_one_pass_encoder(CFG)
    tiled = OnePassEncoder(encoder.network, dataclasses.replace(CFG, tile=128, tile_margin=64))
    img = torch.rand(3, 160, 200, generator=torch.Generator().manual_seed(2))
    img.requires_grad_(True)
    tiled(img).sum().backward()
    assert torch.isfinite(img.grad).all() and (img.grad != 0).float().mean() > 0.9
