"""The report without a browser: rows and pictures, the page's markup (the ``blindiqa
report`` command: tests/cli/test_report_command.py)."""

import os

import numpy as np
import torch
from PIL import Image
from report_helpers import cards as _cards

from blindiqa.models.quality_scale import QualityScale
from blindiqa.report import write_report
from blindiqa.report.collect import ReportRow, collect_rows, display_name, original_link
from blindiqa.report.html import extremes, histogram, histogram_svg, render_page
from blindiqa.scoring import ScoreRecord


def _row(i: int, score: float | None, quality: float | None = None, **kw) -> ReportRow:
    pictures = {} if score is None else {"thumb": f"thumbs/{i:06d}.jpg",
                                          "map": f"maps/{i:06d}.jpg"}
    return ReportRow(index=i, name=kw.pop("name", f"dir/img{i}.jpg"), score=score,
                     quality=quality, **pictures, **kw)


def test_names_and_errors_are_escaped():
    name = 'x/<img src=x onerror="alert(1)">&\'.jpg'
    rows = [_row(0, 2.0, name=name),
            _row(1, None, name="y/<b>.jpg", error="cannot decode <script>alert(2)</script>")]
    page = render_page(rows, model_name="<m>")
    assert "<img src=x" not in page and "<script>alert" not in page and "<b>.jpg" not in page
    assert "&lt;m&gt;" in page
    gallery = _cards(page)["gallery"]
    assert [c["data-name"] for c in gallery] == [name, "y/<b>.jpg"]  # unescaped as given
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_names_that_are_not_utf8_are_written_as_escapes():
    name = os.fsdecode(b"dir/bad\xff.png")
    assert display_name(name) == "dir/bad\\xff.png"
    assert display_name("caf\u00e9.jpg") == "caf\u00e9.jpg"
    assert display_name("lone\ud800") == "lone\\ud800"
    page = render_page([_row(0, 1.0, name=display_name(name))], model_name="m")
    page.encode("utf-8")  # writable as is


def test_cards_carry_sort_keys_and_failures_have_no_picture():
    rows = [_row(0, 3.5, 40.0), _row(1, None, error="too small"), _row(2, 1.25, 90.0)]
    page = render_page(rows, model_name="m", scale_note="50 photos: test")
    gallery = _cards(page)["gallery"]
    assert [(c["data-i"], c["data-score"], c["data-quality"]) for c in gallery] == [
        ("0", "3.5", "40.0"), ("1", "", ""), ("2", "1.25", "90.0")]
    assert gallery[1]["class"] == "card failed"
    assert page.count('src="thumbs/') == 2  # the gallery (too few for worst and best)
    assert 'href="maps/000002.jpg"' in page and "000001" not in page
    assert 'data-sort="quality"' in page and "quality 90.0" in page
    assert 'id="min-quality"' in page and "3 of 3 shown" in page  # the quality slider


def test_without_a_quality_scale_quality_is_na_and_the_histogram_shows_scores():
    page = render_page([_row(0, 3.5), _row(1, 5.0)], model_name="m")
    assert 'data-sort="quality"' not in page and 'data-sort="score"' in page
    assert "quality n/a" in page and "no 0-100 quality scale" in page
    assert 'id="min-quality"' not in page  # nothing to filter by
    assert "Scores of the collection" in page and "score (lower is better)" in page


def test_worst_and_best_are_at_most_a_fifth_each_and_never_repeat():
    scores = [5.0, 1.0, None, 3.0, 1.0, 9.0, 2.0, 8.0, 4.0, 7.0, 6.0, 0.5]
    rows = [_row(i, s) for i, s in enumerate(scores)]  # 11 scored: 2 of each at most
    worst, best = extremes(rows, 3)
    assert [r.index for r in worst] == [5, 7] and [r.index for r in best] == [11, 1]
    page = render_page(rows, model_name="m", n_extremes=1)
    sections = _cards(page)
    assert [c["data-i"] for c in sections["worst"]] == ["5"]
    assert [c["data-i"] for c in sections["best"]] == ["11"]
    assert len(sections["gallery"]) == 12 and "Worst 1 of 11" in page
    forty = [_row(i, float(i)) for i in range(40)]  # a whole set would be 20 + 20
    worst, best = extremes(forty, 20)
    assert len(worst) == len(best) == 8 and not {r.index for r in worst} & {
        r.index for r in best}
    few = render_page(rows[:4], model_name="m")  # 3 scored: no such sections
    assert "worst-section" not in few and set(_cards(few)) == {"gallery"}


def test_histogram_counts():
    assert histogram([0.0, 4.9, 5.0, 99.9, 100.0], 0, 100, 20) == [2, 1] + [0] * 17 + [2]
    rows = [_row(i, float(s), q) for i, (s, q) in enumerate([(1, 10), (2, 12), (3, 95)])]
    svg = histogram_svg(rows, quality=True)
    assert svg.count("<rect") == 20 and "0 to 5: 0 images" in svg
    assert "10 to 15: 2 images" in svg and "95 to 100: 1 image<" in svg
    svg = histogram_svg(rows, quality=False)
    assert svg.count("<rect") == 5 and "score (lower is better)" in svg
    assert histogram_svg([_row(0, None, error="x")], quality=False).startswith("<p")
    assert "<rect" in histogram_svg([_row(0, 2.0)], quality=False)  # one value: a range


def _record(name: str, error: str | None = None) -> ScoreRecord:
    if error:
        return ScoreRecord(path=name, name=name, error=error)
    g = torch.Generator().manual_seed(0)
    return ScoreRecord(path=name, name=name, score=2.0, quality=50.0,
                       quality_map=np.arange(6.0).reshape(2, 3),
                       image=torch.rand(3, 120, 300, generator=g))


def test_rows_write_pictures_and_remove_stale_ones(tmp_path):
    out = tmp_path / "rep"
    (out / "thumbs").mkdir(parents=True)
    (out / "thumbs" / "000099.jpg").write_bytes(b"old")
    (out / "thumbs" / "notes.txt").write_text("mine")
    seen = []
    rows = collect_rows([_record("a.png"), _record("b.png", "cannot decode")], out,
                        scale=QualityScale.fit(np.linspace(1, 10, 50), "test"),
                        thumb_side=64, on_row=seen.append)
    assert rows == seen
    assert rows[0].thumb == "thumbs/000000.jpg" and rows[0].map == "maps/000000.jpg"
    assert rows[1] == ReportRow(index=1, name="b.png", error="cannot decode",
                                original=original_link("b.png", out))
    assert Image.open(out / rows[0].thumb).size == (64, 26)
    assert Image.open(out / rows[0].map).width > 300
    assert sorted(p.name for p in (out / "thumbs").iterdir()) == ["000000.jpg", "notes.txt"]


def test_write_report_writes_the_page(tmp_path):
    rows = write_report([_record("a.png")], tmp_path / "rep", model_name="m", title="T<1>")
    page = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert len(rows) == 1 and "<title>T&lt;1&gt;</title>" in page
    table = (tmp_path / "rep" / "scores.csv").read_text(encoding="utf-8").splitlines()
    assert table[0].startswith("path,score,quality,error") and table[1].startswith("a.png,")
    assert 'href="scores.csv"' in page and "lower is better" in page
    assert "<script src" not in page and "http" not in page.replace("http-equiv", "")


def test_a_quality_below_100_never_reads_100_on_the_page():
    from blindiqa.report.html import format_quality

    assert format_quality(99.56) == "99.5" and format_quality(100.0) == "100.0"
    assert format_quality(None) == "n/a"


def test_each_card_links_to_its_original_percent_encoded(tmp_path):
    photos = tmp_path / "my photos"
    out = tmp_path / "report"
    link = original_link(photos / "a #1?.jpg", out)
    assert link == "../my%20photos/a%20%231%3F.jpg"
    bad = original_link(os.fsdecode(b"x/caf\xe9.jpg"), "x/rep")
    assert bad == "../caf%E9.jpg"  # the name's own bytes, not UTF-8
    page = render_page([_row(0, 1.0, original=link), _row(1, None, error="x")],
                       model_name="m")
    assert page.count('class="original"') == 1
    assert f'href="{link}"' in page and 'rel="noopener"' in page
