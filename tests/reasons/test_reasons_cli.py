"""Reasons through the API, ``blindiqa score --reasons`` (with resume and merge) and the
report's cards, on the shipped default model and tiny images."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from PIL import Image

import blindiqa
from blindiqa.cli.main import main
from blindiqa.reasons import FAMILIES
from blindiqa.scoring.rows import COLUMNS, REASON_COLUMNS, read_rows


@pytest.fixture(scope="module")
def default():
    return blindiqa.load("default")


@pytest.fixture()
def photos(tmp_path, photo, photo2):
    d = tmp_path / "photos"
    d.mkdir()
    Image.fromarray(photo).save(d / "a.png")
    Image.fromarray(photo2).save(d / "b.png")
    Image.fromarray(photo[:40, :40]).save(d / "tiny.png")  # too small: an error row
    return d


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


@pytest.fixture()
def model_file(tmp_path, small_model):
    from blindiqa.models.bundle import save_bundle

    path = tmp_path / "small.safetensors"
    save_bundle(path, *small_model.bundle_contents())
    return str(path)


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
