"""``blindiqa bursts`` and ``blindiqa cull --best-of-burst``: a score file of shots with
EXIF capture times grouped into bursts, the burst columns, the best shot kept."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import blindiqa.bursts as lib
from blindiqa.cli import bursts as cli_bursts
from blindiqa.cli.main import main
from blindiqa.scoring.rows import COLUMNS

#: (name, scene, capture time or None, quality): two bursts of scene 0 and 1, a single
#: shot of scene 2; the shots are listed out of order in the score file.
SHOTS = [("IMG_0003.jpg", 1, "12:00:10", 55.0), ("IMG_0001.jpg", 0, "12:00:00", 40.0),
         ("IMG_0002.jpg", 0, "12:00:01", 80.0), ("IMG_0004.jpg", 1, "12:00:10", 60.0),
         ("IMG_0005.jpg", 1, "12:00:11", 20.0), ("IMG_0006.jpg", 2, "12:05:00", 10.0)]


def scene(seed: int) -> np.ndarray:
    coarse = np.random.default_rng(seed).uniform(0, 255, (6, 8, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((96, 64), Image.BICUBIC))


@pytest.fixture
def shoot(tmp_path, monkeypatch):
    """The shots under photos/ and their score file (paths relative to tmp_path)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    lines = [",".join(COLUMNS)]
    for name, seed, clock, quality in SHOTS:
        exif = Image.Exif()
        exif.get_ifd(lib.EXIF_IFD)[0x9003] = f"2026:05:01 {clock}"
        Image.fromarray(scene(seed)).save(tmp_path / "photos" / name, quality=95, exif=exif)
        lines.append(f"photos/{name},{(100 - quality) / 10},{quality},,96,64")
    lines.append("photos/broken.jpg,,,cannot decode: truncated,,")
    (tmp_path / "scores.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_defaults_are_copies_of_the_library():
    assert cli_bursts.DEFAULT_SECONDS == lib.DEFAULT_SECONDS
    assert cli_bursts.DEFAULT_MAX_DISTANCE == lib.DEFAULT_MAX_DISTANCE
    assert cli_bursts.JOIN_BY == lib.JOIN_BY


def test_bursts_writes_the_burst_columns_in_shooting_order(shoot, capsys):
    assert main(["bursts", "scores.csv", "--out", "grouped.csv"]) == 0
    rows = read_csv(shoot / "grouped.csv")
    assert list(rows[0]) == [*COLUMNS, "burst", "burst_size", "burst_best"]
    got = [(Path(r["path"]).name, r["burst"], r["burst_size"], r["burst_best"]) for r in rows]
    assert got == [("IMG_0001.jpg", "1", "2", "0"), ("IMG_0002.jpg", "1", "2", "1"),
                   ("IMG_0003.jpg", "2", "3", "0"), ("IMG_0004.jpg", "2", "3", "1"),
                   ("IMG_0005.jpg", "2", "3", "0"), ("IMG_0006.jpg", "3", "1", "1"),
                   ("broken.jpg", "4", "1", "0")]
    assert rows[1]["quality"] == "80.0" and rows[-1]["error"] == "cannot decode: truncated"
    assert "7 photo(s) in 4 burst(s), 2 of more than one shot" in capsys.readouterr().err


def test_bursts_by_content_only_and_jsonl(shoot):
    # without times the order is the names'; IMG_0001..2 and 0003..5 share their scene
    assert main(["bursts", "scores.csv", "--out", "g.jsonl", "--burst-by", "features",
                 "--quiet"]) == 0
    lines = [json.loads(x) for x in (shoot / "g.jsonl").read_text().splitlines()]
    assert [x["burst"] for x in lines] == [1, 1, 2, 2, 2, 3, 4]
    assert [x["burst_best"] for x in lines] == [0, 1, 0, 1, 0, 1, 0]
    assert list(lines[0]) == [*COLUMNS, "burst", "burst_size", "burst_best"]


def test_bursts_by_time_only_with_a_tight_gap_and_stdout(shoot, capsys):
    assert main(["bursts", "scores.csv", "--burst-by", "time", "--burst-seconds", "0.5",
                 "--quiet"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    # 12:00:00 | 12:00:01 | 12:00:10 x2 | 12:00:11 | ...: only the two at 12:00:10 join
    assert [r["burst_size"] for r in rows] == ["1", "1", "2", "2", "1", "1", "1"]


@pytest.mark.parametrize(("argv", "message"), [
    (["bursts", "missing.csv"], "cannot read"),
    (["bursts", "scores.csv", "--out", "g.txt"], "--out must end in"),
    (["bursts", "scores.csv", "--burst-distance", "3"], "between 0 and 2"),
    (["bursts", "scores.csv", "--root", "nowhere"], "--root nowhere is not a folder"),
])
def test_bursts_errors(shoot, capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bursts_usage_errors(shoot, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bursts", "scores.csv", "--burst-seconds", "-1"])
    assert exc.value.code == 2
    assert "must be a number >= 0" in capsys.readouterr().err


def test_cull_keeps_the_best_of_each_burst(shoot, capsys):
    assert main(["cull", "scores.csv", "--out", "out", "--best-of-burst", "--quiet"]) == 1
    kept = sorted(p.name for p in (shoot / "out/keep").rglob("*.jpg"))
    rejected = sorted(p.name for p in (shoot / "out/reject").rglob("*.jpg"))
    assert kept == ["IMG_0002.jpg", "IMG_0004.jpg", "IMG_0006.jpg"]
    assert rejected == ["IMG_0001.jpg", "IMG_0003.jpg", "IMG_0005.jpg"]


def test_cull_best_of_burst_with_a_rule(shoot, capsys):
    assert main(["cull", "scores.csv", "--out", "out", "--best-of-burst", "--min-quality",
                 "50", "--dry-run", "--quiet"]) == 1
    plan = {Path(line.split(",")[1]).name: line.split(",")[0]
            for line in capsys.readouterr().out.splitlines()}
    assert plan == {"IMG_0001.jpg": "reject", "IMG_0002.jpg": "keep",
                    "IMG_0003.jpg": "reject", "IMG_0004.jpg": "keep",
                    "IMG_0005.jpg": "reject", "IMG_0006.jpg": "reject"}


def test_cull_needs_a_rule_or_best_of_burst(shoot, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["cull", "scores.csv", "--out", "out"])
    assert exc.value.code == 2
    assert "--best-of-burst is required" in capsys.readouterr().err
    assert not (shoot / "out").exists()


def test_cull_and_rate_read_a_grouped_file_as_it_was_grouped(shoot, capsys):
    # grouped by time only with a 0 s gap, IMG_0003/0004 (same second) are one burst,
    # IMG_0005 its own: cull follows the file, not its own (default) grouping
    assert main(["bursts", "scores.csv", "--out", "grouped.csv", "--burst-by", "time",
                 "--burst-seconds", "0", "--quiet"]) == 0
    assert main(["cull", "grouped.csv", "--out", "out", "--best-of-burst", "--dry-run",
                 "--quiet"]) == 1
    plan = {Path(line.split(",")[1]).name: line.split(",")[0]
            for line in capsys.readouterr().out.splitlines()}
    assert plan == {"IMG_0001.jpg": "keep", "IMG_0002.jpg": "keep",
                    "IMG_0003.jpg": "reject", "IMG_0004.jpg": "keep",
                    "IMG_0005.jpg": "keep", "IMG_0006.jpg": "keep"}
    assert main(["rate", "grouped.csv", "--dry-run"]) == 1  # the broken row gets none
    assert len(capsys.readouterr().out.splitlines()) == 6


def test_cull_refuses_a_bad_burst_best_column(shoot, capsys):
    text = (shoot / "scores.csv").read_text().splitlines()
    rows = [text[0] + ",burst_best"] + [line + ",2" for line in text[1:]]
    (shoot / "g.csv").write_text("\n".join(rows) + "\n")
    assert main(["cull", "g.csv", "--out", "out", "--best-of-burst", "--quiet"]) == 2
    assert "burst_best must be 0 or 1, found '2'" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "needs"), [
    (["cull", "scores.csv", "--out", "out", "--min-quality", "40", "--burst-seconds", "1"],
     "--burst-seconds apply only with --best-of-burst"),
    (["report", "photos", "--out", "rep", "--burst-by", "time", "--burst-distance", "0.3"],
     "--burst-distance, --burst-by apply only with --bursts"),
])
def test_burst_options_without_bursts_are_refused_not_ignored(shoot, capsys, argv, needs):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert needs in capsys.readouterr().err
    assert not (shoot / argv[3]).exists()


@pytest.mark.parametrize("out", ["grouped.csv", "grouped.jsonl"])
def test_further_columns_of_every_row_are_carried(shoot, out):
    text = (shoot / "scores.csv").read_text().splitlines()
    rows = [text[0] + ",reason_blur,note"] + [f"{line},{i}.5,x{i}"
                                               for i, line in enumerate(text[1:])]
    (shoot / "r.csv").write_text("\n".join(rows) + "\n")
    assert main(["bursts", "r.csv", "--out", out, "--quiet"]) == 0
    assert main(["bursts", out, "--out", "again" + out[7:], "--quiet"]) == 0  # regrouped
    for name in (out, "again" + out[7:]):
        if name.endswith(".csv"):
            got = read_csv(shoot / name)
        else:
            got = [json.loads(x) for x in (shoot / name).read_text().splitlines()]
        assert list(got[0]) == [*COLUMNS, "reason_blur", "note", "burst", "burst_size",
                                "burst_best"]
        first = next(r for r in got if r["path"].endswith("IMG_0001.jpg"))
        assert float(first["reason_blur"]) == 1.5 and first["note"] == "x1"
