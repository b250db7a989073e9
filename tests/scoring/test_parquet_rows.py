"""blindiqa.scoring.parquet_rows (Parquet row files) and blindiqa.scoring.parts (numbered parts
with sidecars)."""

from __future__ import annotations

import sys

import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed "
                         "(pip install 'blindiqa[ray]')")
import pyarrow.parquet as pq  # noqa: E402

from blindiqa.scoring import parquet_rows  # noqa: E402
from blindiqa.scoring.parquet_rows import (  # noqa: E402
    import_pyarrow,
    is_parquet,
    read_parquet_rows,
    write_parquet_rows,
)
from blindiqa.scoring.parts import PartWriter, part_files  # noqa: E402
from blindiqa.scoring.rows import Row, RowFileError, read_rows  # noqa: E402
from blindiqa.scoring.sidecar import Provenance, read_sidecar, sidecar_path  # noqa: E402

ROWS = [Row("a.jpg", 12.5, 81.23456, None, 640, 480),
        Row("dir/b é.png", None, None, "cannot decode: truncated", None, None),
        Row("c.tif", 9.0, None, None, 10, 20)]
PROV = Provenance("default", "ab" * 32, "0.1.0", 1024)


def test_rows_round_trip_with_quality_rounded_like_the_text_files(tmp_path) -> None:
    path = write_parquet_rows(tmp_path / "r.parquet", ROWS)
    got = read_parquet_rows(path)
    assert got[0] == Row("a.jpg", 12.5, 81.23, None, 640, 480)
    assert got[1:] == ROWS[1:]
    assert pq.read_table(path).column_names == ["path", "score", "quality", "error",
                                                "width", "height"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]  # no temporary left
    assert is_parquet("X.PARQUET") and not is_parquet("x.csv")


def test_parts_without_width_and_height_are_read(tmp_path) -> None:
    """Parts of blindiqa versions before the size columns (Ray's own writer)."""
    old = pa.table({"path": ["a", "b"], "score": [1.0, None], "quality": [50.0, None],
                    "error": [None, "bad"]})
    pq.write_table(old, tmp_path / "old.parquet")
    assert read_parquet_rows(tmp_path / "old.parquet") == [
        Row("a", 1.0, 50.0, None, None, None), Row("b", None, None, "bad", None, None)]


@pytest.mark.parametrize(("table", "message"), [
    (pa.table({"path": ["a"], "score": [1.0]}), "expected path,score,quality,error"),
    (pa.table({"path": [None], "score": [1.0], "quality": [1.0], "error": [None]}),
     "row 1: no path"),
    (pa.table({"path": ["a"], "score": [1.0], "quality": [1.0], "error": [None],
               "width": [-3], "height": [2]}), "width -3 is negative"),
    (pa.table({"path": ["a"], "score": ["x"], "quality": [1.0], "error": [None]}),
     "wrong type"),
])
def test_bad_parquet_parts_are_refused(tmp_path, table, message) -> None:
    pq.write_table(table, tmp_path / "bad.parquet")
    with pytest.raises(RowFileError, match=message):
        read_parquet_rows(tmp_path / "bad.parquet")


def test_a_file_that_is_no_parquet_is_refused(tmp_path) -> None:
    (tmp_path / "x.parquet").write_text("path,score\n")
    with pytest.raises(RowFileError, match=r"cannot read .*x.parquet as Parquet"):
        read_parquet_rows(tmp_path / "x.parquet")
    with pytest.raises(RowFileError, match="cannot read"):
        read_parquet_rows(tmp_path / "missing.parquet")


def test_without_pyarrow_the_error_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r'pip install "blindiqa\[ray\]"'):
        import_pyarrow()
    with pytest.raises(ImportError, match="Parquet row files need pyarrow"):
        parquet_rows.read_parquet_rows("x.parquet")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_part_writer_starts_a_part_every_n_rows_each_with_its_sidecar(tmp_path, fmt) -> None:
    writer = PartWriter(tmp_path / "out", fmt, rows_per_part=2)
    writer.provenance = PROV
    for row in ROWS * 2:
        writer.write(row)
    parts = writer.close()
    assert [p.name for p in parts] == [f"part-0000{k}.{fmt}" for k in range(3)]
    assert part_files(tmp_path / "out") == sorted([*parts, *map(sidecar_path, parts)])
    read = read_parquet_rows if fmt == "parquet" else read_rows
    got = [row for part in parts for row in read(part)]
    assert [r.path for r in got] == [r.path for r in ROWS * 2]
    assert got[2] == ROWS[2] and got[0].quality == 81.23
    assert all(read_sidecar(p).bundle_sha256 == PROV.bundle_sha256 for p in parts)
    assert writer.close() == parts  # nothing left to write


def test_part_writer_without_provenance_leaves_no_stale_sidecar(tmp_path) -> None:
    stale = sidecar_path(tmp_path / "part-00000.parquet")
    stale.write_text("{}")
    writer = PartWriter(tmp_path, rows_per_part=10)
    writer.write(ROWS[0])
    assert writer.close() == [tmp_path / "part-00000.parquet"] and not stale.exists()
    assert PartWriter(tmp_path / "none").close() == []


def test_part_writer_checks_its_arguments(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown part format 'json'"):
        PartWriter(tmp_path, "json")
    with pytest.raises(ValueError, match="rows_per_part must be at least 1, got 0"):
        PartWriter(tmp_path, rows_per_part=0)
