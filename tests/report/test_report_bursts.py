"""Bursts in the report: each card's burst, a badge on the best of each, a sort key
(``blindiqa report --bursts``: tests/cli/test_report_command.py)."""

from __future__ import annotations

import re

import pytest
from report_helpers import gallery

from blindiqa.report import with_bursts
from blindiqa.report.collect import ReportRow
from blindiqa.report.html import burst_badge, render_page


def rows(qualities: list[float | None]) -> list[ReportRow]:
    return [ReportRow(index=i, name=f"IMG_{i}.jpg", score=None if q is None else 100 - q,
                      quality=q, thumb=None if q is None else f"thumbs/{i:06d}.jpg",
                      error="cannot decode" if q is None else None)
            for i, q in enumerate(qualities)]


def test_with_bursts_marks_the_best_of_each():
    marked = with_bursts(rows([30.0, 70.0, 50.0, None, 10.0]), [1, 1, 2, 2, 3])
    assert [(r.burst, r.burst_size, r.burst_best) for r in marked] == [
        (1, 2, False), (1, 2, True), (2, 2, True), (2, 2, False), (3, 1, True)]
    no_scale = [ReportRow(index=i, name="x", score=s) for i, s in enumerate([3.0, 1.0])]
    assert [r.burst_best for r in with_bursts(no_scale, [1, 1])] == [False, True]  # lower
    with pytest.raises(ValueError, match="2 report rows but 1 bursts"):
        with_bursts(no_scale, [1])


def test_badges_and_the_burst_sort_key():
    marked = with_bursts(rows([30.0, 70.0, 50.0]), [1, 1, 2])
    page = render_page(marked, model_name="m", scale_note="5 photos: x")
    cards = gallery(page)
    assert [c["data-burst"] for c in cards] == ["1", "1", "2"]
    assert [c["badge"] for c in cards] == ["burst", "burst best", ""]  # no badge alone
    assert "best of burst 1" in page and 'title="burst 1: 2 shots, the best of them"' in page
    assert 'data-sort="burst"' in page
    assert burst_badge(marked[2]) == ""
    plain = render_page(rows([30.0, 70.0]), model_name="m", scale_note="5 photos: x")
    assert 'data-sort="burst"' not in plain and "data-burst" not in plain
    assert not re.search(r'class="burst', plain)
