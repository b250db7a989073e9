"""Building blocks: JPEG2000 fallback, colour spaces, kernels, tone curves."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from blindiqa.distortions import blur, brightness, colorspace, compression, noise


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a.double() - b.double()) ** 2).mean()))


def test_jpeg2000_torch_fallback(images):
    psnr = [_psnr(compression.jpeg2000(images, r, backend="torch"), images)
            for r in (16, 32, 45, 120, 400)]
    assert all(a > b for a, b in pairwise(psnr)), psnr
    if compression.HAS_JPEG2000:
        ref = [_psnr(compression.jpeg2000(images, r, backend="pillow"), images)
               for r in (16, 32, 45, 120, 400)]
        # about the same strength as OpenJPEG on these small crops
        assert all(abs(a - b) < 1.5 for a, b in zip(psnr, ref, strict=True)), (psnr, ref)


def test_jpeg2000_bad_backend(images):
    with pytest.raises(ValueError):
        compression.jpeg2000(images, 16, backend="matlab")


def test_wavelet_is_invertible():
    x = torch.rand(2, 3, 64, 96, dtype=torch.float64)
    y = compression._idwt2(compression._dwt2(x, 5), 5)
    torch.testing.assert_close(x, y)


def test_colour_spaces_round_trip():
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(colorspace.lab_to_rgb(colorspace.rgb_to_lab(x)), x)
    torch.testing.assert_close(colorspace.ycbcr_to_rgb(colorspace.rgb_to_ycbcr(x)), x)
    white = torch.ones(1, 3, 1, 1, dtype=torch.float64)
    lab = colorspace.rgb_to_lab(white).flatten()
    torch.testing.assert_close(lab, torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64),
                               atol=1e-3, rtol=0)


def test_lab_matches_scikit_image():
    color = pytest.importorskip("skimage.color")
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    ref = torch.from_numpy(color.rgb2lab(x[0].permute(1, 2, 0).numpy())).permute(2, 0, 1)
    torch.testing.assert_close(colorspace.rgb_to_lab(x)[0], ref, atol=0.02, rtol=0)


def test_kernels_are_normalised():
    like = torch.zeros(0, dtype=torch.float64)
    for r in (1, 2, 4, 8):
        k = blur.disk_kernel(r, like)
        assert k.shape == (2 * r + 1, 2 * r + 1)
        assert abs(float(k.sum()) - 1) < 1e-12
        torch.testing.assert_close(k, k.flip(0).flip(1))
    k = blur.motion_kernels(7, torch.tensor([0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(k.sum(dim=(1, 2)), torch.ones(2, dtype=torch.float64))
    # angle 0: a horizontal line through the centre
    assert float(k[0, k.shape[1] // 2].sum()) > 0.99


def test_tone_curves():
    x = torch.linspace(0, 1, 101)
    for mid in (0.3, 0.5, 0.7):
        y = brightness.curve3(x, mid)
        assert float(y[50]) == pytest.approx(mid, abs=1e-6)
        assert float(y[0]) == pytest.approx(0, abs=1e-6)
        assert float(y[-1]) == pytest.approx(1, abs=1e-6)
    y = brightness.tone_curve(x, (0, 0.25, 0.5, 0.75, 1), (0, 0.2, 0.5, 0.8, 1))
    assert torch.all(y[1:] >= y[:-1])  # monotone
    torch.testing.assert_close(y[[0, 25, 50, 75, 100]], torch.tensor([0, 0.2, 0.5, 0.8, 1.0]))


def test_dct_denoiser_removes_noise(images):
    g = torch.Generator().manual_seed(0)
    noisy = (images + 0.05 * torch.randn(images.shape, generator=g)).clamp(0, 1)
    den = noise.dct_denoise(noisy, 0.05)
    assert _psnr(den, images) > _psnr(noisy, images) + 2
    torch.testing.assert_close(noise.dct_denoise(images, 0.0), images, atol=1e-5, rtol=0)
