"""The quality -> stars mapping: explicit steps, configurable thresholds, bad ones refused."""

from __future__ import annotations

import pytest

from blindiqa.stars import DEFAULT_THRESHOLDS, check_thresholds, parse_thresholds, stars


@pytest.mark.parametrize(("quality", "expected"), [
    (0.0, 1), (19.99, 1), (20.0, 2), (39.9, 2), (40.0, 3), (59.0, 3), (60.0, 4),
    (79.99, 4), (80.0, 5), (100.0, 5),
])
def test_default_steps(quality, expected):
    assert DEFAULT_THRESHOLDS == (20.0, 40.0, 60.0, 80.0)
    assert stars(quality) == expected


def test_outside_the_scale_is_clamped_to_one_and_five():
    assert stars(-5.0) == 1 and stars(250.0) == 5


def test_own_thresholds():
    limits = parse_thresholds("10,50,70,95")
    assert limits == (10.0, 50.0, 70.0, 95.0)
    assert [stars(q, limits) for q in (5, 10, 60, 94.9, 95)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(("text", "message"), [
    ("20,40,60", "need 4 thresholds"),
    ("20,40,60,80,90", "need 4 thresholds"),
    ("20,40,x,80", "not comma-separated numbers"),
    ("20,40,40,80", "increase strictly"),
    ("40,20,60,80", "increase strictly"),
    ("-1,40,60,80", r"in \[0, 100\]"),
    ("20,40,60,101", r"in \[0, 100\]"),
    ("nan,40,60,80", r"in \[0, 100\]"),
])
def test_bad_thresholds_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_thresholds(text)


def test_nan_quality_is_refused():
    with pytest.raises(ValueError, match="nan"):
        stars(float("nan"))


def test_check_thresholds_takes_any_sequence():
    assert check_thresholds([1, 2, 3, 4]) == (1.0, 2.0, 3.0, 4.0)
