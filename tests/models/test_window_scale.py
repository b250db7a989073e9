"""The window scale: quantiles of a reference corpus's window distances, stored in bundles."""

import numpy as np
import pytest
import torch

import blindiqa
from blindiqa.models.bundle import _checksum, load_bundle
from blindiqa.models.quality_scale import (
    QUANTILES,
    WINDOW_META,
    WINDOW_TENSOR,
    QualityScale,
    WindowScale,
    read_scales,
    with_quality_scale,
)

#: The checksum of each shipped bundle before the window scale was added (commit
#: bb3fd2a): the bundle without ``quality_scale.windows`` / ``window_scale`` must still
#: have it, so no tensor or setting that makes a score or a quality changed.
SHIPPED_BEFORE = {
    "default": "8b1ec58f44c4e5b71415aeb809e628a38ccd9a0cf5e4d2eb38453297712a21a2",
    "contentsep": "ff68b57e35406daacf7bf3e2ba6a73326cb85cca9c50834f5a9cd77f79251685",
    "niqe": "05ad35d5d2db89c27b7dbd54c07d94c03f5b2e9d847345c57294acd747b12d42",
    "ilniqe": "8d02e50e00a61ac8a0f9ee2fda60533ef62ab99352b87f2ec3a5366ad0e48359",
}


def test_quantiles_summarise_every_window_of_every_photo():
    rng = np.random.default_rng(0)
    maps = [rng.normal(10, 2, (20, 30)), torch.from_numpy(rng.normal(12, 2, (25, 40)))]
    scale = WindowScale.from_maps(maps, "two photos")
    assert scale.count == QUANTILES and scale.windows == 600 + 1000 and scale.photos == 2
    values = np.concatenate([np.asarray(m).ravel() for m in maps])
    assert scale.reference[0] == values.min() and scale.reference[-1] == values.max()
    # quality = share of the windows that are worse, to within one quantile step (0.1)
    probe = np.quantile(values, [0.02, 0.25, 0.5, 0.9])
    exact = 100 * np.array([(values > d).mean() for d in probe])
    np.testing.assert_allclose(scale(probe), exact, atol=0.15)
    assert float(scale(values.min() - 1)) == 100.0 and float(scale(values.max() + 1)) == 0.0


def test_few_windows_are_kept_as_they_are_and_nan_is_left_out():
    scale = WindowScale.from_maps([[[3.0, float("nan")]], [[1.0, 2.0]], [[4.0]]], "tiny")
    np.testing.assert_array_equal(scale.reference, [1.0, 2.0, 3.0, 4.0])
    assert scale.windows == 4 and scale.photos == 3
    np.testing.assert_array_equal(scale([0.5, 2.5, 9.0]), [100.0, 50.0, 0.0])


def test_higher_is_better_windows():
    scale = WindowScale.from_maps([np.arange(1.0, 5.0)], "x", lower_better=False)
    np.testing.assert_array_equal(scale([0.5, 2.0, 5.0]), [0.0, 25.0, 100.0])


@pytest.mark.parametrize(("maps", "kwargs", "message"), [
    ([], {}, "at least one finite window"),
    ([[float("nan")]], {}, "at least one finite window"),
    ([[1.0, 2.0, 3.0]], {"quantiles": 1}, "at least 2 quantiles"),
])
def test_a_window_scale_without_windows_is_refused(maps, kwargs, message):
    with pytest.raises(ValueError, match=message):
        WindowScale.from_maps(maps, "x", **kwargs)


def test_counts_must_be_consistent():
    with pytest.raises(ValueError, match="at least one photo"):
        WindowScale(np.array([1.0, 2.0]), "x", windows=2, photos=0)
    with pytest.raises(ValueError, match="as many windows as photos"):
        WindowScale(np.array([1.0, 2.0]), "x", windows=2, photos=3)


def test_bundle_round_trip_keeps_scores(tmp_path, model_file, photo):
    model = blindiqa.load(model_file)
    assert model.window_scale is None
    photos = QualityScale.fit([1.0, 2.0, 3.0], "three")
    windows = WindowScale.from_maps([np.linspace(0, 5, 2000)], "three", quantiles=11)
    out = tmp_path / "scaled.safetensors"
    with_quality_scale(model_file, photos, out, windows=windows)
    scaled = blindiqa.load(out)
    assert scaled.score(photo).item() == model.score(photo).item()
    got = scaled.window_scale
    assert isinstance(got, WindowScale) and got.corpus == "three"
    assert (got.count, got.windows, got.photos) == (11, 2000, 1)
    np.testing.assert_allclose(got.reference, np.linspace(0, 5, 11), rtol=1e-12)
    np.testing.assert_array_equal(scaled.quality_scale.reference, [1.0, 2.0, 3.0])
    assert type(scaled.quality_scale) is QualityScale
    assert [type(s) for s in read_scales(out)] == [QualityScale, WindowScale]
    # a photo scale refitted without windows drops the window scale of the old fit
    again = tmp_path / "again.safetensors"
    with_quality_scale(out, photos, again)
    assert blindiqa.load(again).window_scale is None
    assert WINDOW_TENSOR not in load_bundle(again)[0]


def test_inconsistent_stored_scale_is_refused():
    tensors, meta = WindowScale.from_maps([np.arange(50.0)], "x", quantiles=5).to_bundle()
    assert WindowScale.from_bundle(tensors, meta).windows == 50
    assert WindowScale.from_bundle({}, {}) is None
    wrong = {WINDOW_META: {**meta[WINDOW_META], "quantiles": 7}}
    with pytest.raises(ValueError, match="5 quantiles stored"):
        WindowScale.from_bundle(tensors, wrong)
    lacking = {WINDOW_META: {"corpus": "x", "quantiles": 5}}
    with pytest.raises(ValueError, match="numbers of windows and photos"):
        WindowScale.from_bundle(tensors, lacking)


@pytest.mark.parametrize("name", ["default", "contentsep", "niqe", "ilniqe"])
def test_shipped_models_carry_a_window_scale_and_nothing_else_changed(name):
    model = blindiqa.load(name)
    windows = model.window_scale
    assert windows is not None and windows.photos == 452 and windows.count == QUANTILES
    assert windows.windows > windows.photos and windows.corpus == model.quality_scale.corpus
    # a window at the median of the corpus's windows is at local quality ~50
    assert float(windows(np.median(windows.reference))) == pytest.approx(50.0, abs=0.2)
    tensors, metadata = load_bundle(model.bundle_path)
    tensors.pop(WINDOW_TENSOR)
    metadata.pop(WINDOW_META)
    assert _checksum(tensors, metadata) == SHIPPED_BEFORE[name]
    assert model.bundle_path.stat().st_size < 25_000_000
