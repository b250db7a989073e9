"""The banded fast paths of NIQE / IL-NIQE give the values of the whole-image code."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import torch

from blindiqa.baselines import _ilniqe_features as feat
from blindiqa.baselines import ilniqe, niqe, nss
from blindiqa.baselines.matlab import fspecial_gaussian, imresize


def _whole_image_mscn(x: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MSCN with scipy's filter on the whole image (the code before the bands)."""
    col, row = window.sum(axis=1), window.sum(axis=0)

    def blur(a: np.ndarray) -> np.ndarray:
        a = scipy.ndimage.correlate1d(a, col, axis=0, mode="nearest")
        return scipy.ndimage.correlate1d(a, row, axis=1, mode="nearest")

    mu, mu2 = blur(x), blur(x * x)
    sigma = np.sqrt(np.abs(mu2 - mu * mu))
    return (x - mu) / (sigma + 1.0), sigma


@pytest.mark.parametrize("shape", [(1, 1), (2, 9), (9, 2), (40, 1), (97, 150), (301, 77)])
@pytest.mark.parametrize("window", ["niqe", "ilniqe", "asymmetric"])
def test_mscn_bands_equal_whole_image_filter(shape, window) -> None:
    rng = np.random.default_rng(sum(shape))
    x = np.floor(rng.random(shape) * 256)
    x[: shape[0] // 2, : shape[1] // 2] = 77.0  # a flat area: MSCN exactly 0 there
    w = {"niqe": fspecial_gaussian(7, 7 / 6), "ilniqe": fspecial_gaussian(5, 5 / 6),
         "asymmetric": np.outer(rng.random(5), rng.random(4))}[window]
    want = _whole_image_mscn(x, w)
    for rows in (1, 3, 16, 1000):
        # The yielded arrays are reused for the next band: keep copies.
        parts = [(r0, m.copy(), s.copy()) for r0, m, s in nss.mscn_bands(x, rows, w)]
        assert [r0 for r0, _, _ in parts] == list(range(0, shape[0], rows))
        for got, ref in zip((np.concatenate([p[1] for p in parts]),
                             np.concatenate([p[2] for p in parts])), want, strict=True):
            # Same arithmetic as scipy's filter: equal to rounding (bit for bit here).
            np.testing.assert_allclose(got, ref, rtol=1e-14, atol=1e-12)
    np.testing.assert_array_equal(nss.mscn(x, w)[0], np.concatenate([p[1] for p in parts]))


def test_mscn_block_cut_equals_cutting_the_whole_map() -> None:
    rng = np.random.default_rng(0)
    for bs, shape in [(96, (192, 2976)), (48, (96, 144)), (14, (42, 28)), (2, (4, 6))]:
        x = np.floor(rng.random(shape) * 256)
        blocks, sharpness = niqe._mscn_blocks(x, bs)
        coeffs, sigma = nss.mscn(x)
        np.testing.assert_array_equal(blocks, niqe._blocks(coeffs, bs, bs))
        np.testing.assert_array_equal(
            sharpness, np.ascontiguousarray(niqe._blocks(sigma, bs, bs)).mean(axis=(1, 2)))


@pytest.mark.parametrize("shape", [(3, 96, 96), (2, 5, 7), (1, 1, 1), (4, 1, 6), (4, 6, 1)])
def test_neighbour_products_equal_roll(shape) -> None:
    g = np.random.default_rng(1).standard_normal(shape)
    for shift in niqe._SHIFTS:
        np.testing.assert_array_equal(niqe._neighbour_products(g, shift, np.empty_like(g)),
                                      g * np.roll(g, shift, axis=(1, 2)))


def test_tensor_to_gray_in_bands_equals_formula() -> None:
    img = torch.rand(3, 300, 700, generator=torch.Generator().manual_seed(0))
    levels = np.clip(np.floor(img.double().numpy() * 255.0 + 0.5), 0, 255)
    w = np.array([0.298936021293776, 0.587043074451121, 0.114020904255103])
    want = np.clip(np.floor(((w[0] * levels[0] + w[1] * levels[1]) + w[2] * levels[2]) + 0.5),
                   0, 255)
    np.testing.assert_array_equal(niqe.tensor_to_gray(img), want)
    np.testing.assert_array_equal(niqe.tensor_to_gray(img[:1]), levels[0])


@pytest.mark.parametrize("shape", [(3, 524, 524), (3, 600, 900), (3, 900, 600), (1, 700, 530),
                                   (3, 524, 1000), (3, 97, 2000), (3, 300, 200)])
def test_resize_unit_image_equals_levels_then_resize(shape) -> None:
    gen = torch.Generator().manual_seed(shape[1])
    img = torch.rand(*shape, generator=gen).numpy()
    img[:, ::7] = np.round(img[:, ::7] * 255) / 255  # some exact uint8 levels too
    want = feat.resize_uint8(ilniqe.tensor_to_levels(img), feat.NORMALIZED_SIZE)
    np.testing.assert_array_equal(feat.resize_unit_image(img, feat.NORMALIZED_SIZE), want)


def test_imresize_scale_one_pass_is_skipped_exactly() -> None:
    x = np.random.default_rng(2).random((37, 53, 3)) * 255
    np.testing.assert_array_equal(imresize(x, output_shape=(37, 53)), x)
    assert imresize(x, output_shape=(37, 53)) is not x
    out = imresize(x, output_shape=(20, 53))
    assert out.shape == (20, 53, 3)
