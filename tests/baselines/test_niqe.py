"""NIQE: MATLAB agreement, features, parameter files, registry, fitting, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image
from scipy.special import gamma

import blindiqa
from blindiqa.baselines import niqe
from blindiqa.baselines.nss import GAMMA_GRID, mscn
from blindiqa.models.bundle import BundleError, load_bundle, save_bundle

CALIBRATION = ["I03", "I04", "I06", "I08", "I19"]


@pytest.fixture(scope="module")
def official(shared_file) -> niqe.NIQE:
    return blindiqa.load("niqe", params=shared_file("reference-params/niqe_pris_params.npz"))


@pytest.fixture(scope="module")
def matlab_scores(matlab_results) -> dict[str, float]:
    return matlab_results("niqe")


# ----------------------------------------------------------------------------- MATLAB
@pytest.mark.parametrize("name", CALIBRATION)
def test_matches_matlab_on_calibration_images(official, matlab_scores, shared_file,
                                              name: str) -> None:
    score = float(official.score(shared_file(f"calibration/dist_dir/{name}.png"))[0])
    assert score == pytest.approx(matlab_scores[name], rel=0.01)


def test_exact_on_image_without_flat_regions(official, matlab_scores, shared_file) -> None:
    # I04 has no flat 7x7 region, so no floating-point tie-breaking is involved: the
    # whole pipeline (rgb2gray, crop, MSCN, AGGD grid, imresize, nancov, pinv) must
    # reproduce MATLAB to rounding error.
    score = float(official.score(shared_file("calibration/dist_dir/I04.png"))[0])
    assert score == pytest.approx(matlab_scores["I04"], rel=1e-10)


# ----------------------------------------------------------------------------- features
def _block_features_reference(block: np.ndarray) -> np.ndarray:
    """computefeature.m, one block at a time, written naively."""

    def aggd(v: np.ndarray) -> tuple[float, float, float]:
        left = np.sqrt(np.mean(v[v < 0] ** 2))
        right = np.sqrt(np.mean(v[v > 0] ** 2))
        g = left / right
        rhat = np.mean(np.abs(v)) ** 2 / np.mean(v ** 2)
        rn = rhat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
        r = gamma(2 / GAMMA_GRID) ** 2 / (gamma(1 / GAMMA_GRID) * gamma(3 / GAMMA_GRID))
        a = GAMMA_GRID[np.argmin((r - rn) ** 2)]
        k = np.sqrt(gamma(1 / a) / gamma(3 / a))
        return a, left * k, right * k

    a, bl, br = aggd(block.ravel())
    feat = [a, (bl + br) / 2]
    for shift in [(0, 1), (1, 0), (1, 1), (1, -1)]:
        a, bl, br = aggd((block * np.roll(block, shift, axis=(0, 1))).ravel())
        feat += [a, (br - bl) * gamma(2 / a) / gamma(1 / a), bl, br]
    return np.array(feat)


def test_block_features_match_naive_per_block_code(textured_image) -> None:
    gray = niqe.tensor_to_gray(textured_image(96, 192, seed=1))
    coeffs, _ = mscn(gray)
    blocks = np.stack([coeffs[:, :96], coeffs[:, 96:]])
    got = niqe.block_features(blocks)
    assert got.shape == (2, 18)
    for i in range(2):
        np.testing.assert_allclose(got[i], _block_features_reference(blocks[i]), rtol=1e-11)


def test_image_features_grid_crop_and_sharpness(textured_image) -> None:
    gray = niqe.tensor_to_gray(textured_image(250, 300))
    feats, sharpness, grid = niqe.image_features(gray)
    assert grid == (2, 3)
    assert feats.shape == (6, 36) and sharpness.shape == (6,)
    # the crop keeps the top-left 192x288 pixels: other pixels do not matter
    gray2 = gray.copy()
    gray2[200:, :] = 0
    gray2[:, 290:] = 255
    feats2, _, _ = niqe.image_features(gray2)
    np.testing.assert_array_equal(feats, feats2)


def test_select_sharp_blocks_threshold() -> None:
    np.testing.assert_array_equal(niqe.select_sharp_blocks(np.array([1.0, 7.6, 10.0, 7.5])),
                                  [1, 2])


def test_tensor_to_gray_rounds_back_to_uint8() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (3, 5, 7), dtype=np.uint8)
    t = torch.from_numpy(rgb).float() / 255.0
    w = np.array([0.298936021293776, 0.587043074451121, 0.114020904255103])
    expected = np.floor(np.tensordot(w, rgb.astype(np.float64), axes=1) + 0.5)
    np.testing.assert_array_equal(niqe.tensor_to_gray(t), expected)


# ----------------------------------------------------------------------------- model
def test_shipped_model_scores_and_maps(textured_image) -> None:
    model = blindiqa.load("niqe")
    img = textured_image(200, 300, seed=3)
    score = model.score(img)
    assert score.dtype == torch.float64 and score.shape == (1,)
    assert np.isfinite(score[0].item()) and score[0].item() > 0
    qmap = model.quality_map(img)
    assert qmap.shape == (2, 3) and qmap.dtype == torch.float64
    assert torch.isfinite(qmap).all() and (qmap >= 0).all()
    info = model.info()
    assert info.feature_dim == 36 and info.lower_better


def test_score_depends_only_on_the_image(textured_image) -> None:
    model = blindiqa.load("niqe")
    a, b = textured_image(192, 192, 4), textured_image(300, 250, 5)
    together = model.score([a, b])
    assert together[0].item() == model.score(a)[0].item()
    assert together[1].item() == model.score(b)[0].item()


def test_uint8_array_and_tensor_inputs_agree(textured_image) -> None:
    model = blindiqa.load("niqe")
    t = textured_image(192, 200, 6)
    arr = np.round(t.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    assert model.score(arr)[0].item() == model.score(t)[0].item()


def test_too_small_image_names_minimum_size() -> None:
    model = blindiqa.load("niqe")
    with pytest.raises(ValueError, match="96x96"):
        model.score(torch.rand(3, 95, 300))
    with pytest.raises(ValueError, match="96x96"):
        niqe.image_features(np.zeros((100, 50)))


def test_flat_image_scores_nan_like_matlab() -> None:
    model = blindiqa.load("niqe")
    assert np.isnan(model.score(torch.full((3, 96, 96), 0.5))[0].item())


# ----------------------------------------------------------------------------- params
def _params() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((36, 36))
    return rng.standard_normal(36), a @ a.T / 36 + np.eye(36)


def test_params_npz_mat_and_bundle_give_the_same_model(tmp_path: Path,
                                                       textured_image) -> None:
    mu, cov = _params()
    np.savez(tmp_path / "p.npz", mu_pris_param=mu[None, :], cov_pris_param=cov)
    scipy.io.savemat(tmp_path / "p.mat", {"mu_prisparam": mu[None, :], "cov_prisparam": cov})
    save_bundle(tmp_path / "p.safetensors",
                {"mu_pris_param": torch.from_numpy(mu), "cov_pris_param": torch.from_numpy(cov)},
                {"kind": "niqe"})
    img = textured_image(192, 192, 8)
    scores = [blindiqa.load("niqe", params=tmp_path / f"p.{ext}").score(img)[0].item()
              for ext in ("npz", "mat", "safetensors")]
    scores.append(blindiqa.load(tmp_path / "p.safetensors").score(img)[0].item())
    assert len(set(scores)) == 1
    mu2, cov2, _ = niqe.load_niqe_params(tmp_path / "p.mat")
    np.testing.assert_array_equal(mu2, mu)
    np.testing.assert_array_equal(cov2, cov)


def test_official_mat_key_names_also_read_from_npz(tmp_path: Path) -> None:
    mu, cov = _params()
    np.savez(tmp_path / "q.npz", mu_prisparam=mu, cov_prisparam=cov)
    got_mu, _, _ = niqe.load_niqe_params(tmp_path / "q.npz")
    np.testing.assert_array_equal(got_mu, mu)


def test_params_errors(tmp_path: Path) -> None:
    mu, cov = _params()
    with pytest.raises(ValueError, match="no such"):
        niqe.create_niqe(tmp_path / "missing.npz")
    (tmp_path / "p.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown NIQE parameter format"):
        niqe.create_niqe(tmp_path / "p.txt")
    np.savez(tmp_path / "short.npz", mu_pris_param=mu[:10], cov_pris_param=cov)
    with pytest.raises(ValueError, match="36"):
        niqe.create_niqe(tmp_path / "short.npz")
    np.savez(tmp_path / "nokeys.npz", mean=mu)
    with pytest.raises(ValueError, match="mu_pris_param"):
        niqe.create_niqe(tmp_path / "nokeys.npz")
    bad = cov.copy()
    bad[0, 0] = np.nan
    scipy.io.savemat(tmp_path / "nan.mat", {"mu_prisparam": mu, "cov_prisparam": bad})
    with pytest.raises(ValueError, match="NaN"):
        niqe.create_niqe(tmp_path / "nan.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError):
        niqe.create_niqe(tmp_path / "junk.mat")
    save_bundle(tmp_path / "other.safetensors", {"x": torch.zeros(1)}, {"kind": "other"})
    with pytest.raises(ValueError, match="not a NIQE"):
        niqe.create_niqe(tmp_path / "other.safetensors")


# ----------------------------------------------------------------------------- fit
def _write_images(textured_image: Callable[..., torch.Tensor], folder: Path, n: int,
                  size: tuple[int, int]) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        arr = (textured_image(*size, seed=10 + i).permute(1, 2, 0).numpy() * 255).round()
        Image.fromarray(arr.astype(np.uint8)).save(folder / f"im{i}.png")


def test_fit_writes_a_loadable_bundle_with_provenance(tmp_path: Path, textured_image) -> None:
    _write_images(textured_image, tmp_path / "pristine" / "a", 2, (192, 288))
    _write_images(textured_image, tmp_path / "pristine" / "b", 1, (200, 200))
    Image.new("RGB", (50, 50)).save(tmp_path / "pristine" / "b" / "tiny.png")
    out = tmp_path / "niqe_fit.safetensors"
    meta = niqe.fit([tmp_path / "pristine"], out)
    tensors, stored = load_bundle(out)
    assert stored == meta
    assert stored["kind"] == "niqe" and stored["sharpness_threshold"] == 0.75
    assert stored["images"] == 3 and stored["blocks_total"] == 6 + 6 + 4
    assert stored["images_per_folder"] == {"pristine/a": 2, "pristine/b": 1}
    assert stored["images_skipped"] == ["pristine/b/tiny.png"]
    assert 3 <= stored["blocks_selected"] <= 16
    assert tensors["mu_pris_param"].shape == (36,)
    assert tensors["cov_pris_param"].shape == (36, 36)
    model = blindiqa.load(out)
    assert np.isfinite(model.score(textured_image(192, 192, 20))[0].item())


def test_fit_is_deterministic(tmp_path: Path, textured_image) -> None:
    _write_images(textured_image, tmp_path / "p", 2, (192, 192))
    niqe.fit([tmp_path / "p"], tmp_path / "one.safetensors")
    niqe.fit([tmp_path / "p"], tmp_path / "two.safetensors")
    a, _ = load_bundle(tmp_path / "one.safetensors")
    b, _ = load_bundle(tmp_path / "two.safetensors")
    assert torch.equal(a["cov_pris_param"], b["cov_pris_param"])


def test_fit_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no usable pristine image"):
        niqe.fit([tmp_path / "empty"], tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="no such"):
        niqe.fit([tmp_path / "missing"], tmp_path / "x.safetensors")


def test_shipped_bundle_has_provenance() -> None:
    _, meta = load_bundle(niqe.SHIPPED_PARAMS)
    assert meta["kind"] == "niqe"
    assert meta["images"] > 100 and meta["blocks_selected"] > 0
    assert meta["sharpness_threshold"] == 0.75 and meta["block_size"] == 96


def test_damaged_bundle_is_refused(tmp_path: Path) -> None:
    data = niqe.SHIPPED_PARAMS.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError):
        blindiqa.load(tmp_path / "cut.safetensors")
