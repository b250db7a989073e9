"""The 0-100 quality scale: share of reference photos scoring worse, stored in bundles."""

import numpy as np
import pytest
import torch

import blindiqa
from blindiqa.models.quality_scale import QualityScale, read_quality_scale, with_quality_scale


def test_quality_is_the_share_scoring_worse():
    scale = QualityScale.fit([4.0, 1.0, 2.0, 3.0, float("nan")], "four photos")
    assert scale.count == 4
    q = scale([0.5, 1.0, 2.5, 4.0, 9.0, float("nan")])
    np.testing.assert_array_equal(q[:5], [100.0, 75.0, 50.0, 0.0, 0.0])
    assert np.isnan(q[5])
    assert float(scale(2.0)) == 50.0 and scale(torch.tensor([2.0])).tolist() == [50.0]


def test_higher_is_better_direction():
    scale = QualityScale.fit([1.0, 2.0, 3.0, 4.0], "x", lower_better=False)
    np.testing.assert_array_equal(scale([0.5, 2.0, 5.0]), [0.0, 25.0, 100.0])


def test_monotone_so_rank_correlation_is_kept():
    rng = np.random.default_rng(0)
    scale = QualityScale.fit(rng.normal(10, 2, 300), "x")
    d = np.sort(rng.normal(10, 3, 1000))
    assert (np.diff(scale(d)) <= 0).all()


def test_quantiles_invert_the_scale():
    scale = QualityScale.fit(np.arange(1.0, 101.0), "x")
    assert scale.quantiles(50.0) == pytest.approx(50.5)
    assert float(scale(scale.quantiles(80.0))) == pytest.approx(80.0, abs=1.0)


@pytest.mark.parametrize("bad", [[], [float("inf")]])
def test_empty_or_non_finite_reference_is_refused(bad):
    with pytest.raises(ValueError, match="quality scale"):
        QualityScale.fit(bad, "x")


def test_bundle_round_trip_keeps_scores(tmp_path, model_file, photo):
    model = blindiqa.load(model_file)
    assert model.quality_scale is None
    with pytest.raises(ValueError, match="no quality scale"):
        model.quality(photo)
    scale = QualityScale.fit([1.0, 2.0, 3.0], "three")
    out = tmp_path / "scaled.safetensors"
    with_quality_scale(model_file, scale, out)
    scaled = blindiqa.load(out)
    assert scaled.score(photo).item() == model.score(photo).item()
    assert read_quality_scale(out).corpus == "three"
    np.testing.assert_array_equal(scaled.quality_scale.reference, [1.0, 2.0, 3.0])
    assert scaled.quality(photo).dtype == torch.float64


@pytest.mark.parametrize("name", ["default", "contentsep", "niqe", "ilniqe"])
def test_shipped_models_carry_a_scale_of_452_reference_photos(name):
    model = blindiqa.load(name)
    assert model.quality_scale is not None and model.quality_scale.count == 452
    assert "imagenet-sample" in model.quality_scale.corpus
    ref = model.quality_scale.reference
    median = ref[len(ref) // 2]
    assert float(model.quality_from_score(median)) == pytest.approx(50.0, abs=0.5)


def test_quality_from_score_returns_a_float64_tensor_like_quality():
    """The same kind of result as quality(): a float64 CPU tensor, 0-d for a number."""
    model = blindiqa.load("niqe")
    photo = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    scores = model.score([photo, photo[::-1]])
    q = model.quality_from_score(scores)
    assert isinstance(q, torch.Tensor) and q.dtype == torch.float64 and q.shape == (2,)
    assert torch.equal(q, model.quality([photo, photo[::-1]]))
    assert torch.equal(model.quality_from_score(scores.numpy()), q)
    assert torch.equal(model.quality_from_score(scores.float().tolist()),
                       model.quality_from_score(scores.float()))
    one = model.quality_from_score(float(scores[0]))
    assert isinstance(one, torch.Tensor) and one.dtype == torch.float64 and one.ndim == 0
    assert float(one) == float(q[0])
    assert torch.isnan(model.quality_from_score(float("nan")))


def test_quality_from_score_without_a_scale_is_an_error(small_model):
    if small_model.quality_scale is not None:
        pytest.skip("the tests' small model carries a scale")
    with pytest.raises(ValueError, match="no quality scale"):
        small_model.quality_from_score(1.0)
