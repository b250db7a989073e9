"""``blindiqa demo``: a folder holding other files than an earlier demo's is never written
into without ``--overwrite``; the demo's own earlier output is replaced; its table."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from blindiqa.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def test_non_empty_out_is_refused_without_overwrite(tmp_path: Path, capsys) -> None:
    (tmp_path / "contact_sheet.png").write_bytes(b"earlier run")
    (tmp_path / "notes.txt").write_text("mine")  # not the demo's: the folder is refused
    assert main(["demo", "--out", str(tmp_path), "--model", "niqe"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"blindiqa: error: --out {tmp_path} is not empty; "
                   "give --overwrite to write into it")
    assert (tmp_path / "contact_sheet.png").read_bytes() == b"earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contact_sheet.png", "notes.txt"]


def test_default_out_is_refused_when_it_holds_other_files(tmp_path: Path, monkeypatch,
                                                          capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blindiqa-demo" / "images").mkdir(parents=True)
    (tmp_path / "blindiqa-demo" / "images" / "holiday.jpg").write_bytes(b"mine")
    assert main(["demo", "--model", "niqe"]) == 2
    assert "--out blindiqa-demo is not empty" in capsys.readouterr().err


def test_an_earlier_demos_output_is_replaced_without_overwrite(tmp_path: Path, capsys) -> None:
    """Running the demo twice works: the folder holds only its own output."""
    pytest.importorskip("skimage")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--model", "niqe"]) == 0
    capsys.readouterr()
    assert main(["demo", "--out", str(out), "--model", "niqe"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["distortion", "strength", "score", "quality"]
    assert table[1].split()[:2] == ["original", "-"] and len(table) == 12
    assert "lower is better" in table[-1]
    with open(out / "scores.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10 and all(0 <= float(r["quality"]) <= 100 for r in rows)


def test_out_that_is_a_file_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    out.write_text("mine")
    assert main(["demo", "--out", str(out), "--model", "niqe", "--overwrite"]) == 2
    assert f"--out {out} exists and is not a directory" in capsys.readouterr().err
    assert out.read_text() == "mine"


def test_overwrite_writes_into_a_non_empty_out(tmp_path: Path, capsys) -> None:
    pytest.importorskip("skimage")
    (tmp_path / "contact_sheet.png").write_bytes(b"earlier run")
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["demo", "--out", str(tmp_path), "--model", "niqe", "--overwrite"]) == 0
    assert (tmp_path / "contact_sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "notes.txt").read_text() == "mine"  # other files are left alone
    with open(tmp_path / "scores.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 10


def test_default_out_is_git_ignored() -> None:
    args = build_parser().parse_args(["demo"])
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert f"{args.out}/" in ignored


def test_demo_contact_sheet(tmp_path, capsys):
    pytest.importorskip("skimage")
    assert main(["demo", "--out", str(tmp_path)]) == 0
    with Image.open(tmp_path / "contact_sheet.png") as im:
        assert im.width > 1000
    with open(tmp_path / "scores.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10
    # the strongest level of each distortion scores worse than the original
    orig = float(rows[0]["score"])
    for i in (3, 6, 9):
        assert float(rows[i]["score"]) > orig
