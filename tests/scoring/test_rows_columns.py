"""blindiqa/scoring/rows.py: the width and height columns, and files written without them."""

import json

import pytest

from blindiqa.scoring.rows import (
    COLUMNS,
    LEGACY_COLUMNS,
    Row,
    RowFileError,
    RowWriter,
    file_columns,
    read_rows,
)

ROWS = [Row("a.png", 1.5, 80.25, None, 640, 480), Row("bad.jpg", error="not an image")]


def test_columns_end_with_width_and_height():
    assert COLUMNS == ("path", "score", "quality", "error", "width", "height")
    assert COLUMNS[:4] == LEGACY_COLUMNS


@pytest.mark.parametrize("name", ["rows.csv", "rows.jsonl"])
def test_width_and_height_round_trip_empty_for_an_undecoded_file(tmp_path, name):
    out = tmp_path / name
    writer = RowWriter(out)
    for row in ROWS:
        writer.write(row)
    writer.close()
    assert read_rows(out) == ROWS
    assert file_columns(out) == COLUMNS
    text = out.read_text()
    if name.endswith(".csv"):
        assert text.splitlines() == ["path,score,quality,error,width,height",
                                     "a.png,1.5,80.25,,640,480",
                                     "bad.jpg,,,not an image,,"]
    else:
        first, second = (json.loads(line) for line in text.splitlines())
        assert (first["width"], first["height"]) == (640, 480)
        assert (second["width"], second["height"]) == (None, None)


def _legacy(tmp_path, name):
    out = tmp_path / name
    if name.endswith(".csv"):
        out.write_text("path,score,quality,error\na.png,1.5,80.25,\n")
    else:
        out.write_text(json.dumps({"path": "a.png", "score": 1.5, "quality": 80.25,
                                   "error": None}) + "\n")
    return out


@pytest.mark.parametrize("name", ["old.csv", "old.jsonl"])
def test_an_old_file_is_read_with_no_size(tmp_path, name):
    out = _legacy(tmp_path, name)
    assert read_rows(out) == [Row("a.png", 1.5, 80.25, None)]
    assert file_columns(out) == LEGACY_COLUMNS


@pytest.mark.parametrize("name", ["old.csv", "old.jsonl"])
def test_appending_to_an_old_file_keeps_its_columns(tmp_path, name):
    out = _legacy(tmp_path, name)
    writer = RowWriter(out, append=True)
    assert writer.columns == LEGACY_COLUMNS
    writer.write(Row("b.png", 2.0, 50.0, None, 10, 20))
    writer.close()
    assert read_rows(out) == [Row("a.png", 1.5, 80.25), Row("b.png", 2.0, 50.0)]
    assert file_columns(out) == LEGACY_COLUMNS
    assert "width" not in out.read_text()


def test_appending_to_an_empty_or_partial_file_writes_the_new_columns(tmp_path):
    out = tmp_path / "fresh.csv"
    out.write_text("path,sco")  # killed while writing the header
    writer = RowWriter(out, append=True)
    writer.write(ROWS[0])
    writer.close()
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert read_rows(out) == [ROWS[0]]


@pytest.mark.parametrize(("text", "message"), [
    ("path,score,quality,error,width,height\na.png,1,2,,wide,3\n", "width 'wide'"),
    ("path,score,quality,error,width,height\na.png,1,2,,3,-4\n", "height -4 is negative"),
    ("path,score,quality,error,width,height\na.png,1,2,\n", "4 fields, expected 6"),
    ("path,score,quality,error,width\na.png,1,2,,3\n", "the columns are"),
])
def test_bad_size_columns_are_refused(tmp_path, text, message):
    out = tmp_path / "bad.csv"
    out.write_text(text)
    with pytest.raises(RowFileError, match=message):
        read_rows(out)


def test_file_columns_refuses_a_file_that_is_no_row_file(tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("name,value\nx,1\n")
    with pytest.raises(RowFileError, match="the columns are name,value"):
        file_columns(out)
    jsonl = tmp_path / "other.jsonl"
    jsonl.write_text("[1, 2]\n")
    with pytest.raises(RowFileError, match="not a result row"):
        file_columns(jsonl)


@pytest.mark.parametrize("name", ["g.csv", "g.jsonl"])
def test_further_columns_are_read_into_extra(tmp_path, name):
    out = tmp_path / name
    if name.endswith(".csv"):
        out.write_text("path,score,quality,error,width,height,burst,burst_best\n"
                       "a.png,1.5,80.0,,64,48,3,1\nb.png,,,broken,,,4,0\n")
    else:
        out.write_text(json.dumps({**dict.fromkeys(COLUMNS), "path": "a.png", "score": 1.5,
                                   "burst": 3, "burst_best": 1}) + "\n")
    first = read_rows(out)[0]
    assert (first.path, first.score) == ("a.png", 1.5)
    assert first.extra == (("burst", "3"), ("burst_best", "1"))
    assert first.get("burst_best") == "1" and first.get("nothing") is None
    with pytest.raises(RowFileError, match="further columns burst,burst_best"):
        file_columns(out)  # such a file is never appended to (--resume)


@pytest.mark.parametrize("header", ["path,score,quality,error,width,height,score",
                                    "path,score,quality,error,width,height,x,x",
                                    "path,score,quality,error,width,height,"])
def test_further_columns_need_new_distinct_names(tmp_path, header):
    out = tmp_path / "bad.csv"
    out.write_text(header + "\n")
    with pytest.raises(RowFileError, match="the columns are"):
        read_rows(out)


def test_reason_cells_from_a_mapping_or_pairs():
    from blindiqa.scoring.rows import reason_cells

    assert reason_cells(None) == ()
    want = (("reason_blur", "2.46"), ("reason_noise", "0.00"))
    assert reason_cells({"blur": 2.456, "noise": 0.0}) == want
    assert reason_cells((("blur", 2.456), ("noise", 0.0))) == want
