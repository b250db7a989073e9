"""Taps to one grid, window pooling."""

from __future__ import annotations

import torch

from blindiqa.onepass.grid import blur_halve, to_grid, window_count, window_kernel, window_mean


def test_blur_halve_keeps_constants_and_halves_the_size():
    x = torch.full((1, 2, 8, 6), 3.0)
    y = blur_halve(x)
    assert y.shape == (1, 2, 4, 3) and torch.allclose(y, torch.full_like(y, 3.0))


def test_blur_halve_is_centred_like_a_strided_same_convolution():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 5] = 16.0  # odd cells: the centres of output cells (1, 2)
    y = blur_halve(x)[0, 0]
    assert y.argmax().item() == 1 * 4 + 2 and y[1, 2].item() == 4.0


def test_to_grid_repeats_coarser_maps_and_blurs_finer_ones():
    coarse = torch.arange(4.0).view(1, 1, 2, 2)
    up = to_grid(coarse, 32, 16)
    assert up.shape == (1, 1, 4, 4) and up[0, 0, 1, 1] == 0 and up[0, 0, 2, 3] == 3
    fine = torch.rand(1, 3, 16, 16)
    assert to_grid(fine, 4, 16).shape == (1, 3, 4, 4)
    assert to_grid(fine, 16, 16) is fine


def test_box_window_is_the_mean_of_its_cells():
    x = torch.rand(1, 2, 7, 9, dtype=torch.float64)
    w = window_mean(x, 3, 2, "box")
    assert w.shape == (1, 2, window_count(7, 3, 2), window_count(9, 3, 2)) == (1, 2, 3, 4)
    assert torch.allclose(w[0, :, 1, 2], x[0, :, 2:5, 4:7].mean(dim=(1, 2)))


def test_gaussian_window_weights_sum_to_one_and_peak_in_the_middle():
    k = window_kernel(5, "gaussian")
    assert abs(float(k.sum()) - 1) < 1e-6 and k.argmax().item() == 12
    x = torch.full((1, 1, 6, 6), 2.0)
    assert torch.allclose(window_mean(x, 5, 1, "gaussian"), torch.full((1, 1, 2, 2), 2.0))


def test_window_count_is_zero_when_none_fits():
    assert window_count(2, 3, 1) == 0 and window_count(3, 3, 1) == 1
