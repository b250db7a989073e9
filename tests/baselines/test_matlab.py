"""MATLAB-compatible primitives: rgb2gray, imresize, fspecial, nanmean/nancov/pinv."""

from __future__ import annotations

import numpy as np
import pytest

from blindiqa.baselines.matlab import (
    cubic,
    fspecial_gaussian,
    imresize,
    imresize_weights,
    matlab_round,
    nancov,
    nanmean,
    pinv,
    rgb2gray_uint8,
)


# ----------------------------------------------------------------------------- rgb2gray
def test_rgb2gray_primaries_and_extremes() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                    [[0, 0, 0], [255, 255, 255], [10, 10, 10]]], dtype=np.uint8)
    gray = rgb2gray_uint8(rgb)
    assert gray.dtype == np.uint8
    # 255 * weights = 76.229, 149.696, 29.075 -> rounded
    np.testing.assert_array_equal(gray, [[76, 150, 29], [0, 255, 10]])


def test_rgb2gray_matches_float_formula() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    w = np.array([0.298936021293776, 0.587043074451121, 0.114020904255103])
    expected = np.floor(rgb.astype(np.float64) @ w + 0.5)
    np.testing.assert_array_equal(rgb2gray_uint8(rgb), expected)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3)),
                                 np.zeros((4, 4, 4), np.uint8)])
def test_rgb2gray_rejects_non_rgb_uint8(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        rgb2gray_uint8(bad)


def test_matlab_round_is_half_away_from_zero() -> None:
    np.testing.assert_array_equal(matlab_round(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49])),
                                  [1, 2, 3, -1, -3, 0])


# ----------------------------------------------------------------------------- imresize
def test_cubic_kernel_values() -> None:
    np.testing.assert_allclose(cubic(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])),
                               [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0])


def test_imresize_reference_values() -> None:
    row = np.array([[1.0, 2.0, 3.0, 4.0]]).repeat(3, axis=0)
    # MATLAB: imresize([1 2 3 4], 2) and imresize([1 2 3 4], 0.5)
    np.testing.assert_allclose(
        imresize(row, 2.0)[0],
        [0.90625, 1.1796875, 1.7265625, 2.25, 2.75, 3.2734375, 3.8203125, 4.09375],
        rtol=0, atol=1e-12)
    np.testing.assert_allclose(imresize(row, 0.5)[0], [1.4609375, 3.5390625], atol=1e-12)


def test_imresize_hand_computed_without_antialiasing() -> None:
    # scale 0.5, no antialiasing: output 1 sits at u = 1.5; taps at distances
    # +-0.5 (w 0.5625) and +-1.5 (w -0.0625); index 0 mirrors to 1.
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    out = imresize(x, output_shape=(1, 2), antialiasing=False)
    first = -0.0625 * 1 + 0.5625 * 1 + 0.5625 * 2 - 0.0625 * 3
    last = -0.0625 * 2 + 0.5625 * 3 + 0.5625 * 4 - 0.0625 * 4
    np.testing.assert_allclose(out[0], [first, last], atol=1e-12)


def test_imresize_identity_and_constant() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((13, 21))
    np.testing.assert_allclose(imresize(x, 1.0), x, atol=1e-14)
    c = np.full((31, 17), 7.25)
    for s in (0.5, 0.37, 1.7, 3.0):
        np.testing.assert_allclose(imresize(c, s), 7.25, atol=1e-12)


@pytest.mark.parametrize(("shape", "scale", "expected"),
                         [((480, 480), 0.5, (240, 240)), ((101, 55), 0.5, (51, 28)),
                          ((10, 7), 1.25, (13, 9)), ((3, 3), 0.1, (1, 1))])
def test_imresize_output_size_is_ceil(shape, scale, expected) -> None:
    assert imresize(np.zeros(shape), scale).shape == expected


def test_imresize_output_shape_and_channels() -> None:
    rng = np.random.default_rng(2)
    rgb = rng.random((40, 30, 3))
    out = imresize(rgb, output_shape=(17, 45))
    assert out.shape == (17, 45, 3)
    for c in range(3):
        np.testing.assert_allclose(out[:, :, c], imresize(rgb[:, :, c], output_shape=(17, 45)),
                                   atol=1e-13)


def test_imresize_is_separable() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.random(37), rng.random(29)
    out = imresize(np.outer(a, b), 0.5)
    ra = imresize(a[:, None].repeat(4, 1), 0.5)[:, 0]  # constant columns stay constant
    rb = imresize(b[None, :].repeat(4, 0), 0.5)[0]
    np.testing.assert_allclose(out, np.outer(ra, rb), atol=1e-13)


def test_imresize_weights_rows_sum_to_one_and_mirror() -> None:
    w, idx = imresize_weights(10, 5, 0.5, antialiasing=True)
    assert w.shape == idx.shape == (5, 8)  # 10 taps, the two all-zero ones dropped
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-14)
    assert idx.min() >= 0 and idx.max() <= 9
    assert idx[0, 0] == 2  # 1-based -2 mirrors to 3 -> 0-based 2


@pytest.mark.parametrize("kwargs", [{}, {"scale": 0.5, "output_shape": (2, 2)},
                                    {"scale": 0.0}, {"output_shape": (0, 3)}])
def test_imresize_invalid_arguments(kwargs) -> None:
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), **kwargs)


def test_imresize_rejects_bad_rank() -> None:
    with pytest.raises(ValueError, match="2-D or 3-D"):
        imresize(np.zeros(5), 0.5)


# ----------------------------------------------------------------------------- fspecial
def test_fspecial_gaussian_normalised_and_symmetric() -> None:
    w = fspecial_gaussian(7, 7 / 6)
    assert w.shape == (7, 7)
    assert abs(w.sum() - 1.0) < 1e-15
    np.testing.assert_array_equal(w, w.T)
    np.testing.assert_array_equal(w, w[::-1, ::-1])


def test_fspecial_gaussian_equals_official_window(shared_file) -> None:
    data = np.load(shared_file("reference-params/niqe_pris_params.npz"))
    np.testing.assert_allclose(fspecial_gaussian(7, 7 / 6), data["gaussian_window"],
                               rtol=0, atol=1e-15)


# ----------------------------------------------------------------------------- stats
def test_nanmean_nancov_drop_nan_as_matlab() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 4))
    x[3, 1] = np.nan
    x[7, :] = np.nan
    complete = x[~np.isnan(x).any(axis=1)]
    np.testing.assert_allclose(nancov(x), np.cov(complete, rowvar=False), atol=1e-13)
    expected_mean = [np.mean(x[~np.isnan(x[:, j]), j]) for j in range(4)]
    np.testing.assert_allclose(nanmean(x), expected_mean, atol=1e-14)


def test_nancov_degenerate_cases() -> None:
    np.testing.assert_array_equal(nancov(np.ones((1, 3))), np.zeros((3, 3)))
    assert np.isnan(nancov(np.full((2, 3), np.nan))).all()
    assert np.isnan(nanmean(np.full((2, 3), np.nan))).all()


def test_pinv_matches_numpy_and_handles_rank_deficiency() -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 6))
    np.testing.assert_allclose(pinv(a), np.linalg.inv(a), atol=1e-10)
    v = rng.standard_normal((6, 2))
    low = v @ v.T  # rank 2
    p = pinv(low)
    np.testing.assert_allclose(low @ p @ low, low, atol=1e-10)
    np.testing.assert_allclose(p, np.linalg.pinv(low, rcond=1e-12), atol=1e-8)
    assert np.isnan(pinv(np.array([[np.nan, 0.0], [0.0, 1.0]]))).all()
