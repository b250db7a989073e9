"""Reasons through the API on the shipped default model, and the report's reasons line
(``score --reasons``, its resume and merge, ``report --reasons``:
tests/cli/test_score_reasons.py)."""

from __future__ import annotations

import pytest
import torch

import blindiqa
from blindiqa.reasons import FAMILIES


@pytest.fixture(scope="module")
def default():
    return blindiqa.load("default")


def test_api_shape_and_one_pass(default, photo, photo2):
    reasons = default.reasons([photo, photo2])
    assert list(reasons) == list(FAMILIES)
    for v in reasons.values():
        assert v.shape == (2,) and v.dtype == torch.float64
        assert bool(((v >= 0) & (v <= 5)).all())
    single = default.reasons(photo)
    assert all(single[f].shape == (1,) for f in FAMILIES)
    # the same pass as the score: analyse_tensor gives the score score_tensor gives
    t = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    score, qmap, r = default.analyse_tensor(t, with_map=True, with_reasons=True)
    assert score == pytest.approx(default.score_tensor(t), rel=1e-9)
    assert qmap.shape == default.quality_map_tensor(t).shape
    assert r == {f: pytest.approx(float(single[f][0]), abs=0.006) for f in FAMILIES}


def test_blur_raises_the_blur_reason(default, photo):
    """A strong blur of a sharp photo: blur is named, and above the sharp photo's."""
    from blindiqa.distortions import apply_distortion

    t = torch.from_numpy(photo).permute(2, 0, 1).float() / 255
    blurred = apply_distortion(t[None], "gaussian_blur", 5)[0]
    sharp, soft = default.reasons(t)["blur"], default.reasons(blurred)["blur"]
    assert float(soft) > float(sharp) + 1.0


def test_models_without_a_probe_say_so(small_model, photo):
    assert not small_model.has_reasons
    with pytest.raises(ValueError, match="has no reasons probe"):
        small_model.reasons(photo)


def test_reasons_line():
    from blindiqa.report.collect import ReportRow
    from blindiqa.report.html import reasons_line

    row = ReportRow(index=0, name="x", score=1.0, thumb="t.jpg",
                    reasons=(("blur", 2.44), ("noise", 0.3), ("compression", 3.0),
                             ("exposure", 0.0), ("colour", 1.0), ("spatial", 0.99)))
    line = reasons_line(row)
    assert ">compression 3.0 \u00b7 blur 2.4 \u00b7 colour 1.0<" in line
    calm = ReportRow(index=0, name="x", reasons=tuple((f, 0.2) for f in FAMILIES))
    assert "no distortion family stands out" in reasons_line(calm)
    assert reasons_line(ReportRow(index=0, name="x")) == ""
