"""``--reasons`` of ``blindiqa score`` (the reason_* columns, resume, merge of shards) and
of ``blindiqa report`` (the cards), on the shipped default model and tiny images; the
models and engines that cannot give them."""

from __future__ import annotations

import csv
import json

import pytest
from PIL import Image

from blindiqa.cli.main import main
from blindiqa.scoring.rows import COLUMNS, REASON_COLUMNS, read_rows


@pytest.fixture()
def photos(tmp_path, photo, photo2):
    d = tmp_path / "photos"
    d.mkdir()
    Image.fromarray(photo).save(d / "a.png")
    Image.fromarray(photo2).save(d / "b.png")
    Image.fromarray(photo[:40, :40]).save(d / "tiny.png")  # too small: an error row
    return d


def test_score_reasons_columns(photos, tmp_path, capsys):
    out = tmp_path / "r.csv"
    code = main(["score", str(photos), "--reasons", "--out", str(out), "--quiet"])
    assert code == 1  # the tiny image fails
    with out.open() as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == COLUMNS + REASON_COLUMNS
    rows = {r.path.rsplit("/", 1)[-1]: r for r in read_rows(out)}
    for name in ("a.png", "b.png"):
        values = [float(rows[name].get(c)) for c in REASON_COLUMNS]
        assert all(0 <= v <= 5 for v in values)
    assert rows["tiny.png"].score is None
    assert all(rows["tiny.png"].get(c) == "" for c in REASON_COLUMNS)
    jl = tmp_path / "r.jsonl"
    main(["score", str(photos / "a.png"), "--reasons", "--out", str(jl), "--quiet"])
    rec = json.loads(jl.read_text().splitlines()[0])
    assert list(rec)[len(COLUMNS):] == list(REASON_COLUMNS)
    assert isinstance(rec["reason_blur"], float)
    assert rec["reason_blur"] == float(rows["a.png"].get("reason_blur"))


def test_resume_with_reasons(photos, tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert main(["score", str(photos / "a.png"), "--reasons", "--out", str(out),
                 "--quiet"]) == 0
    first = out.read_text()
    code = main(["score", str(photos), "--reasons", "--out", str(out), "--resume",
                 "--quiet"])
    assert code == 1
    text = out.read_text()
    assert text.startswith(first) and len(text.splitlines()) == 4  # header + 3 rows
    rows = read_rows(out)
    assert [r.path.rsplit("/", 1)[-1] for r in rows] == ["a.png", "b.png", "tiny.png"]
    assert rows[1].get("reason_noise") not in (None, "")
    # a file of --reasons is not resumed without it, nor the reverse
    assert main(["score", str(photos), "--out", str(out), "--resume", "--quiet"]) == 2
    assert "has the reason_* columns; resume it with --reasons" in capsys.readouterr().err
    plain = tmp_path / "plain.csv"
    main(["score", str(photos / "a.png"), "--out", str(plain), "--quiet"])
    assert main(["score", str(photos), "--reasons", "--out", str(plain), "--resume",
                 "--quiet"]) == 2
    assert "lacks the reason_* columns" in capsys.readouterr().err


def test_merge_keeps_reasons(photos, tmp_path, capsys):
    parts = []
    for i in (0, 1):
        part = tmp_path / f"part-{i}.csv"
        main(["score", str(photos), "--reasons", "--shard", f"{i}/2", "--out", str(part),
              "--quiet"])
        parts.append(str(part))
    out = tmp_path / "all.csv"
    assert main(["merge", *parts, "--out", str(out), "--quiet"]) == 0
    rows = read_rows(out)
    assert len(rows) == 3 and all(len(r.extra) == len(REASON_COLUMNS) for r in rows)


def test_reasons_option_errors(photos, model_file, tmp_path, capsys):
    assert main(["score", str(photos), "--reasons", "--model", model_file]) == 2
    assert "--reasons: model" in capsys.readouterr().err
    assert main(["score", str(photos), "--reasons", "--engine", "ray",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--reasons is not available with --engine ray" in capsys.readouterr().err


def test_report_cards_show_reasons(photos, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(photos), "--out", str(out), "--reasons", "--quiet"]) == 1
    page = (out / "index.html").read_text()
    assert page.count('<span class="reasons"') == 2  # the two scored cards (no extremes)
    assert "estimated strength 0-5: blur" in page
    with (out / "scores.csv").open() as fh:
        assert tuple(next(csv.reader(fh))) == COLUMNS + REASON_COLUMNS
    plain = tmp_path / "plain"
    main(["report", str(photos), "--out", str(plain), "--quiet"])
    assert 'class="reasons"' not in (plain / "index.html").read_text()
