"""``blindiqa rate``: star ratings into XMP sidecars from a score file, photos untouched,
existing sidecars merged, rows without a rating counted, bad usage refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from blindiqa.cli.main import main

pytest.importorskip("pyexiv2", reason="pyexiv2 missing: pip install 'blindiqa[xmp]'")


@pytest.fixture
def album(tmp_path, monkeypatch, xmp_other_fields) -> Path:
    """photos/a.jpg ... d.jpg, b.jpg with a sidecar full of other fields; cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    for i, name in enumerate("abcd"):
        Image.new("RGB", (32, 24), (40 * i, 90, 150)).save(tmp_path / "photos" / f"{name}.jpg")
    (tmp_path / "photos" / "b.jpg.xmp").write_text(xmp_other_fields, encoding="utf-8")
    return tmp_path


def write_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["path,score,quality,error", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def photo_bytes(album: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((album / "photos").glob("*.jpg"))}


@pytest.fixture
def rating(read_xmp):
    """``rating(sidecar)``: its xmp:Rating as exiv2 reads it."""
    return lambda sidecar: read_xmp(sidecar).get("Xmp.xmp.Rating")


def test_rates_merges_and_says_which_rows_got_no_rating(album, capsys, rating, read_xmp):
    before = photo_bytes(album)
    scores = write_csv(album / "scores.csv", [
        ("photos/a.jpg", "10.0", "85.5", ""),          # 5 stars, new sidecar
        ("photos/b.jpg", "12.0", "35", ""),            # 2 stars, merged
        ("photos/c.jpg", "", "", "cannot decode: truncated"),
        ("photos/d.jpg", "14.0", "", ""),              # a model without a quality scale
        ("photos/gone.jpg", "11.0", "50", ""),
    ])
    assert main(["rate", scores]) == 1
    err = capsys.readouterr().err
    assert rating(album / "photos/a.jpg.xmp") == "5"
    merged = read_xmp(album / "photos/b.jpg.xmp")
    assert merged["Xmp.xmp.Rating"] == "2"
    assert merged["Xmp.dc.subject"] == ["holiday", "beach"]
    assert merged["Xmp.xmp.Label"] == "Red"
    assert merged["Xmp.darktable.history[1]/darktable:operation"] == "exposure"
    assert not (album / "photos/c.jpg.xmp").exists()
    assert not (album / "photos/d.jpg.xmp").exists()
    assert not (album / "photos/gone.jpg.xmp").exists()
    assert photo_bytes(album) == before  # the photos are never written
    assert "rated 2 photo(s) (stars 1: 0, 2: 1, 3: 0, 4: 0, 5: 1)" in err
    assert "1 new sidecar(s), merged into 1 existing" in err
    assert "no rating for 3 row(s): 1 no quality, 1 photo not found, 1 scoring failed" in err
    assert "photos/c.jpg: scoring failed: cannot decode: truncated" in err


def test_jsonl_and_own_thresholds(album, capsys, rating):
    scores = album / "scores.jsonl"
    scores.write_text("".join(json.dumps({"path": f"photos/{n}.jpg", "score": 1.0,
                                          "quality": q, "error": None}) + "\n"
                              for n, q in zip("abcd", (5, 10, 95, 94.9), strict=True)))
    assert main(["rate", str(scores), "--stars-at", "10,50,70,95", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    got = [rating(album / f"photos/{n}.jpg.xmp") for n in "abcd"]
    assert got == ["1", "2", "5", "4"]


def test_stem_naming_and_a_shared_sidecar(album, capsys, rating):
    Image.new("RGB", (32, 24)).save(album / "photos" / "a.png")
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "70", ""),
                                         ("photos/a.png", "1", "10", "")])
    assert main(["rate", scores, "--sidecar-name", "stem"]) == 1
    assert rating(album / "photos/a.xmp") == "4"  # the first row's
    assert "photos/a.png: sidecar taken: photos/a.xmp belongs to photos/a.jpg" \
        in capsys.readouterr().err
    assert not (album / "photos/a.jpg.xmp").exists()


def test_keep_rated_leaves_a_rated_sidecar(album, capsys, rating, xmp_other_fields):
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "90", ""),
                                         ("photos/b.jpg", "1", "90", "")])
    assert main(["rate", scores, "--keep-rated"]) == 0
    assert rating(album / "photos/a.jpg.xmp") == "5"
    assert (album / "photos/b.jpg.xmp").read_text(encoding="utf-8") == xmp_other_fields
    assert "kept 1 already rated" in capsys.readouterr().err


def test_dry_run_writes_nothing(album, capsys, xmp_other_fields):
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "41", ""),
                                         ("photos/b.jpg", "1", "61", "")])
    assert main(["rate", scores, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"3,{Path('photos/a.jpg.xmp')}", f"4,{Path('photos/b.jpg.xmp')}"]
    assert "would write 1 new sidecar(s), merged into 1 existing" in err
    assert not (album / "photos/a.jpg.xmp").exists()
    assert (album / "photos/b.jpg.xmp").read_text(encoding="utf-8") == xmp_other_fields


def test_root_finds_relative_paths_from_elsewhere(album, monkeypatch, rating):
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "30", "")])
    (album / "elsewhere").mkdir()
    monkeypatch.chdir(album / "elsewhere")
    assert main(["rate", scores]) == 1  # photos/a.jpg is not under the current folder
    assert main(["rate", scores, "--root", str(album)]) == 0
    assert rating(album / "photos/a.jpg.xmp") == "2"


@pytest.mark.parametrize("value", ["20,40,60", "20,40,40,80", "a,b,c,d", "0,40,60,120"])
def test_bad_thresholds_are_usage_errors(album, value, capsys):
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "30", "")])
    with pytest.raises(SystemExit) as exc:
        main(["rate", scores, "--stars-at", value])
    assert exc.value.code == 2
    assert "--stars-at" in capsys.readouterr().err
    assert not (album / "photos/a.jpg.xmp").exists()


def test_bad_score_files_and_root_are_refused(album, capsys):
    (album / "notes.csv").write_text("name,stars\nx,3\n", encoding="utf-8")
    assert main(["rate", str(album / "notes.csv")]) == 2
    assert "expected path,score,quality,error" in capsys.readouterr().err
    assert main(["rate", str(album / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "30", "")])
    assert main(["rate", scores, "--root", str(album / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_missing_extra_is_named(album, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyexiv2", None)
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "30", "")])
    assert main(["rate", scores]) == 2
    assert "pip install 'blindiqa[xmp]'" in capsys.readouterr().err
    assert not (album / "photos/a.jpg.xmp").exists()


def test_exiftool_reads_the_command_s_rating(album):
    exe = shutil.which("exiftool")
    if exe is None:
        pytest.skip("exiftool missing (Debian: apt-get install libimage-exiftool-perl; "
                    ".ci/run installs it)")
    scores = write_csv(album / "s.csv", [("photos/a.jpg", "1", "65", ""),
                                         ("photos/b.jpg", "1", "99", "")])
    assert main(["rate", scores, "--quiet"]) == 0
    out = subprocess.run([exe, "-s3", "-XMP-xmp:Rating", "-XMP-dc:Subject",
                          "photos/a.jpg.xmp", "photos/b.jpg.xmp"], capture_output=True,
                         text=True, check=True).stdout
    assert "4\n" in out and "5\nholiday, beach\n" in out
