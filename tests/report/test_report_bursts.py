"""Bursts in the report: each card's burst, a badge on the best of each, a sort key;
``blindiqa report --bursts`` end to end."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from blindiqa.cli.main import main
from blindiqa.report import with_bursts
from blindiqa.report.collect import ReportRow
from blindiqa.report.html import burst_badge, render_page


class _Cards(HTMLParser):
    """Each gallery card's attributes and the burst badges inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str]] = []
        self.in_gallery = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("id") in ("gallery", "worst", "best"):
            self.in_gallery = a["id"] == "gallery"
        elif tag == "figure" and self.in_gallery:
            self.cards.append({**a, "badge": ""})
        elif tag == "span" and self.in_gallery and "burst" in (a.get("class") or "").split():
            self.cards[-1]["badge"] = a["class"]


def gallery(page: str) -> list[dict[str, str]]:
    parser = _Cards()
    parser.feed(page)
    return parser.cards


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


def test_command_groups_bursts(report_photos, tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["report", str(report_photos), "--model", "niqe", "--out", str(out),
                 "--workers", "0", "--quiet", "--bursts"])
    assert code == 1  # the corrupt file
    cards = {c["data-name"].rsplit("/", 1)[-1]: c
             for c in gallery((out / "index.html").read_text(encoding="utf-8"))}
    # by name: the mirrored coffee | blocky cat, cat | coffee, noisy coffee | corrupt
    bursts = {name: int(c["data-burst"]) for name, c in cards.items()}
    assert bursts["blocky.png"] == bursts["cat.png"]
    assert bursts["coffee.jpg"] == bursts["noisy.png"] != bursts["cat.png"]
    assert len(set(bursts.values())) == 4
    best = [name for name, c in cards.items() if c["badge"] == "burst best"]
    assert sorted(best) == sorted(
        max(pair, key=lambda n: float(cards[n]["data-quality"]))
        for pair in (("blocky.png", "cat.png"), ("coffee.jpg", "noisy.png")))
    assert cards["corrupt.jpg"]["badge"] == ""


def test_command_refuses_bad_burst_settings(report_photos, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", str(report_photos), "--out", str(tmp_path / "r"), "--bursts",
              "--burst-seconds", "x"])
    assert exc.value.code == 2
    code = main(["report", str(report_photos), "--out", str(tmp_path / "r"), "--bursts",
                 "--burst-distance", "5", "--model", "niqe"])
    assert code == 2 and "between 0 and 2" in capsys.readouterr().err
