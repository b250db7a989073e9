"""blindiqa/scoring/sidecar.py: the JSON file that says what made a row file's rows."""

import json
import re

import pytest

from blindiqa.scoring.sidecar import (
    Provenance,
    SidecarError,
    combine,
    differences,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

PROV = Provenance(model="default", bundle_sha256="ab" * 32, version="0.1.0", max_side=1024,
                  shard=(1, 4))


def test_the_sidecar_sits_beside_its_rows():
    assert sidecar_path("out/scores.csv").as_posix() == "out/scores.csv.json"
    assert sidecar_path("s.jsonl").name == "s.jsonl.json"


def test_write_then_read_gives_the_provenance_dated_in_utc(tmp_path):
    rows = tmp_path / "scores.csv"
    path = write_sidecar(rows, PROV)
    data = json.loads(path.read_text())
    assert set(data) == {"model", "bundle_sha256", "version", "max_side", "shard", "date"}
    assert data["shard"] == [1, 4]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["date"])
    back = read_sidecar(rows)
    assert back is not None and back.date == data["date"]
    assert differences(back, PROV) == [] and back.shard == (1, 4)
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temporary left


def test_no_sidecar_reads_as_none(tmp_path):
    assert read_sidecar(tmp_path / "old.csv") is None


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not JSON"), ("[1]", "not a JSON object"),
    ('{"model": "default"}', "no bundle_sha256, version, max_side")])
def test_a_bad_sidecar_is_refused(tmp_path, text, message):
    rows = tmp_path / "scores.csv"
    sidecar_path(rows).write_text(text)
    with pytest.raises(SidecarError, match=message):
        read_sidecar(rows)


def test_differences_ignore_the_date_and_shard():
    other = Provenance(model="niqe", bundle_sha256=None, version="0.1.0", max_side=1024,
                       shard=None, date="2020-01-01T00:00:00Z")
    assert differences(PROV, other) == ["model", "bundle_sha256"]


def test_combine_agreeing_parts():
    merged, problems = combine([("a.csv", PROV), ("b.csv", PROV)])
    assert problems == [] and merged.shard is None and merged.mismatched == ()
    assert differences(merged, PROV) == []


def test_combine_names_the_parts_and_field_that_disagree():
    niqe = Provenance(model="niqe", bundle_sha256="ab" * 32, version="0.1.0", max_side=1024)
    merged, problems = combine([("a.csv", PROV), ("b.csv", niqe), ("c.csv", PROV)])
    assert problems == ["model: a.csv and c.csv say default, b.csv says niqe"]
    assert merged.model is None and merged.mismatched == ("model",)
    assert merged.max_side == 1024
    assert json.loads(merged.to_json())["mismatched"] == ["model"]


def test_combine_needs_a_sidecar():
    with pytest.raises(ValueError, match="at least one"):
        combine([])
