"""blindiqa.scoring.merge: rows joined in the manifest's order, what is doubled or
missing named, the walk of a manifest's folders."""

from __future__ import annotations

from blindiqa.scoring.merge import expected_names, has_reasons, merge_rows
from blindiqa.scoring.rows import REASON_COLUMNS, Row


def _rows(*names: str) -> list[Row]:
    return [Row(name, 1.0) for name in names]


def test_without_a_manifest_parts_are_joined_and_doubled_rows_named() -> None:
    rows, problems = merge_rows([_rows("a", "b"), _rows("c")])
    assert [r.path for r in rows] == ["a", "b", "c"] and problems == []
    _, problems = merge_rows([_rows("a", "b"), _rows("b", "b")])
    assert problems == ["2 row(s) doubled: b"]


def test_a_manifest_orders_the_rows_and_names_what_is_missing_or_extra() -> None:
    rows, problems = merge_rows([_rows("c", "a"), _rows("b")], ["a", "b", "c"])
    assert [r.path for r in rows] == ["a", "b", "c"] and problems == []
    _, problems = merge_rows([_rows("a", "x")], ["a", "b"])
    assert problems == ["1 row(s) doubled or not in the manifest: x",
                        "1 input(s) without a row: b"]


def test_expected_names_walk_the_manifests_folders(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    for name in ("b.jpg", "a.jpg"):
        (tmp_path / "photos" / name).write_bytes(b"x")
    (tmp_path / "list.txt").write_text("photos\nloose.png\n")
    assert expected_names("list.txt") == ["photos/a.jpg", "photos/b.jpg", "loose.png"]


def test_reasons_count_only_where_every_row_has_them() -> None:
    every = tuple((column, "1.0") for column in REASON_COLUMNS)
    with_reasons = [Row(name, 1.0, extra=every) for name in "ab"]
    assert has_reasons(with_reasons)
    assert not has_reasons([]) and not has_reasons(_rows("a"))
    assert not has_reasons([*with_reasons, *_rows("c")])
    assert not has_reasons([Row("a", 1.0, extra=every[:1])])  # one reason is not all
