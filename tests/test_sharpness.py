"""blindiqa.sharpness: the local standard deviation both paths select pristine parts by."""

import torch

from blindiqa.sharpness import gaussian_window, local_std


def test_gaussian_window_normalised():
    w = gaussian_window()
    assert w.shape == (7, 7) and abs(float(w.sum()) - 1) < 1e-12


def test_local_std_flat_and_noise():
    assert float(local_std(torch.full((20, 20), 0.3, dtype=torch.float64)).max()) < 1e-7
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(64, 64, generator=g, dtype=torch.float64)
    s = local_std(noise)[10:-10, 10:-10]
    # uniform noise has std 1/sqrt(12) ~ 0.289; a 7x7 window estimates it with a bias
    assert 0.2 < float(s.mean()) < 0.3
