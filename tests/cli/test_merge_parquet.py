"""``blindiqa merge`` reads the Parquet parts of ``score --engine ray`` beside CSV and JSON
lines, with the same checks (rows doubled, sidecars agreeing)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'blindiqa[ray]')")

from blindiqa.cli.main import main  # noqa: E402
from blindiqa.scoring.parts import PartWriter  # noqa: E402
from blindiqa.scoring.rows import COLUMNS, Row, RowWriter, read_rows  # noqa: E402
from blindiqa.scoring.sidecar import Provenance, read_sidecar, write_sidecar  # noqa: E402

PROV = Provenance("default", "cd" * 32, "0.1.0", 1024)


def _parquet_parts(folder: Path, rows: list[Row], prov: Provenance | None = PROV,
                   per_part: int = 2) -> list[str]:
    writer = PartWriter(folder, rows_per_part=per_part)
    writer.provenance = prov
    for row in rows:
        writer.write(row)
    return [str(p) for p in writer.close()]


def _csv(path: Path, rows: list[Row], prov: Provenance = PROV) -> str:
    writer = RowWriter(path)
    for row in rows:
        writer.write(row)
    writer.close()
    write_sidecar(path, prov)
    return str(path)


def _rows(names: str) -> list[Row]:
    return [Row(f"{n}.jpg", 10.0 + k, 50.0 + k, None, 100 + k, 80) for k, n in
            enumerate(names)]


def test_parquet_and_csv_parts_merge_into_one_file_with_its_sidecar(tmp_path, capsys) -> None:
    parts = [*_parquet_parts(tmp_path / "ray", _rows("abc")),
             _csv(tmp_path / "local.csv", _rows("de"))]
    out = tmp_path / "all.csv"
    assert main(["merge", *parts, "--out", str(out)]) == 0
    assert "merged 5 rows (0 failed) from 3 file(s)" in capsys.readouterr().err
    got = read_rows(out)
    assert sorted(r.path for r in got) == [f"{n}.jpg" for n in "abcde"]
    assert {r.path: (r.width, r.height) for r in got}["c.jpg"] == (102, 80)
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert read_sidecar(out).bundle_sha256 == PROV.bundle_sha256


def test_a_row_in_two_parquet_parts_is_refused(tmp_path, capsys) -> None:
    parts = [*_parquet_parts(tmp_path / "one", _rows("ab")),
             *_parquet_parts(tmp_path / "two", _rows("b"))]
    assert main(["merge", *parts, "--out", str(tmp_path / "all.csv")]) == 1
    assert "1 row(s) doubled: b.jpg" in capsys.readouterr().err
    assert not (tmp_path / "all.csv").exists()


def test_parquet_parts_of_another_bundle_are_refused(tmp_path, capsys) -> None:
    other = replace(PROV, bundle_sha256="ef" * 32)
    parts = [*_parquet_parts(tmp_path / "one", _rows("ab")),
             *_parquet_parts(tmp_path / "two", _rows("c"), other)]
    assert main(["merge", *parts, "--out", str(tmp_path / "all.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "disagree on bundle_sha256" in err and "--allow-mismatch" in err


def test_a_broken_parquet_part_is_named(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    assert main(["merge", str(bad), "--out", str(tmp_path / "all.csv")]) == 2
    assert f"cannot read {bad} as Parquet" in capsys.readouterr().err


def test_without_pyarrow_merge_names_the_extra(tmp_path, capsys, monkeypatch) -> None:
    parts = _parquet_parts(tmp_path / "ray", _rows("a"))
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert main(["merge", *parts, "--out", str(tmp_path / "all.csv")]) == 2
    assert 'pip install "blindiqa[ray]"' in capsys.readouterr().err
