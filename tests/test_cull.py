"""Keep or reject: thresholds, shares (rounding, ties), and collision-free names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blindiqa.cull import Rule, decide, parse_percent, relative_names, share_count


@pytest.mark.parametrize(("text", "value"), [("30%", 30.0), ("30", 30.0), (" 12.5 % ", 12.5),
                                             ("0", 0.0), ("100%", 100.0)])
def test_parse_percent(text, value):
    assert parse_percent(text) == value


@pytest.mark.parametrize("text", ["", "%", "abc", "-1", "101%", "nan", "inf"])
def test_parse_percent_refuses(text):
    with pytest.raises(ValueError):
        parse_percent(text)


def test_rule_refuses_unknown_kind_and_out_of_range():
    with pytest.raises(ValueError, match="rule must be"):
        Rule("best", 10)
    with pytest.raises(ValueError, match="between 0 and 100"):
        Rule("keep-top", 120)


@pytest.mark.parametrize(("n", "percent", "count"), [(10, 30, 3), (10, 25, 3), (10, 24, 2),
                                                     (3, 50, 2), (0, 50, 0), (7, 100, 7),
                                                     (7, 0, 0)])
def test_share_count_rounds_to_the_nearest_halves_up(n, percent, count):
    assert share_count(n, percent) == count


def test_min_quality_keeps_at_and_above():
    assert decide([70, 69.99, 100, 0], Rule("min-quality", 70)) == [True, False, True, False]


def test_keep_top_and_reject_bottom():
    q = [10, 90, 50, 70, 30]
    assert decide(q, Rule("keep-top", 40)) == [False, True, False, True, False]
    assert decide(q, Rule("reject-bottom", 40)) == [False, True, True, True, False]


def test_ties_at_the_cut_follow_the_file_order():
    assert decide([50, 50, 50, 50], Rule("keep-top", 50)) == [True, True, False, False]
    assert decide([50, 50, 50, 50], Rule("reject-bottom", 25)) == [True, True, True, False]


def test_relative_names_keep_structure_below_the_common_folder(tmp_path):
    base, names = relative_names([tmp_path / "p/a/x.jpg", tmp_path / "p/b/x.jpg",
                                  tmp_path / "p/a/../c/y.jpg"])
    assert base == tmp_path / "p"
    assert names == [Path("a/x.jpg"), Path("b/x.jpg"), Path("c/y.jpg")]
    assert len(set(names)) == 3


def test_relative_names_of_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base, names = relative_names([Path("x.jpg"), Path("sub/x.jpg")])
    assert base == Path(os.path.abspath(tmp_path))
    assert names == [Path("x.jpg"), Path("sub/x.jpg")]


def test_relative_names_refuses_nothing():
    with pytest.raises(ValueError, match="no photos"):
        relative_names([])
