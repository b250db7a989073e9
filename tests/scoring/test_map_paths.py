"""blindiqa.scoring.outputs: where each --maps picture goes, and the tally's lines."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from blindiqa.scoring.outputs import Tally, map_path
from blindiqa.scoring.rows import Row


@pytest.mark.parametrize(("name", "base", "expected"), [
    ("dupA/x.jpg", "", "dupA/x.jpg.png"),
    ("/abs/photos/sub/x.jpg", "/abs/photos", "sub/x.jpg.png"),
    ("/abs/photos/x.jpg", "", "abs/photos/x.jpg.png"),
    ("../up/x.jpg", "", "__/up/x.jpg.png"),
    ("../up/x.jpg", "../up", "x.jpg.png"),
    ("a/../../x.jpg", "", "a/__/__/x.jpg.png"),
    ("//net/x.jpg", "/net", "net/x.jpg.png"),
])
def test_map_paths_stay_inside_the_maps_folder(tmp_path, name, base, expected) -> None:
    rec = SimpleNamespace(path=Path(name), name=name)  # what map_path reads of a record
    target = map_path(tmp_path / "maps", rec, base)
    assert target.relative_to(tmp_path / "maps").as_posix() == expected


def test_the_tally_counts_this_run_and_the_rows_before_it() -> None:
    tally = Tally()
    tally.add_previous([Row("a", 2.0, 40.0), Row("b", None, None, "bad")])
    tally.add(4.0, 60.0)
    tally.add(None)
    assert (tally.ok, tally.bad, tally.rows, tally.before) == (2, 2, 4, 2)
    assert tally.summary("default") == ("scored 2, failed 2, mean score 3.0000, mean "
                                        "quality 50.0/100 (model default; lower score is "
                                        "better)")
    assert tally.summary("default", "s.csv", resume=True) == (
        "scored 1, failed 1, 2 already in s.csv; over all 4 rows: mean score 3.0000, mean "
        "quality 50.0/100 (model default; lower score is better)")
    assert Tally().summary("niqe").startswith("scored 0, failed 0, mean score n/a (model")
