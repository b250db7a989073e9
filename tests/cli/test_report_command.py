"""``blindiqa report``: the page it writes for a folder (with a corrupt file and a name that
is markup), bursts, maps beside their photos, and the errors: a non-empty or unusable
--out, no images, a bad model, bad options."""

from __future__ import annotations

import os

import pytest
from PIL import Image
from report_helpers import cards as _cards
from report_helpers import gallery

import blindiqa
from blindiqa.cli.main import main


def test_command_writes_a_report(report_photos, tricky_name, tmp_path, capsys):
    out = tmp_path / "rep"
    bad = report_photos / os.fsdecode(b"bad\xff.png")
    Image.open(report_photos / "cat.png").save(bad, format="PNG")
    code = main(["report", str(report_photos), "--model", "niqe", "--out", str(out),
                 "--workers", "0"])
    err = capsys.readouterr().err
    assert code == 1  # the corrupt file
    assert "report: 7/7" in err and "7 images (1 not scored, model niqe)" in err
    gallery = _cards((out / "index.html").read_text(encoding="utf-8"))["gallery"]
    names = [c["data-name"].rsplit("/", 1)[-1] for c in gallery]
    assert names == sorted(["bad\\xff.png", "blocky.png", "cat.png", "coffee.jpg",
                            "corrupt.jpg", "noisy.png", tricky_name])
    assert [c["class"] for c in gallery].count("card failed") == 1
    assert len(list((out / "thumbs").iterdir())) == len(list((out / "maps").iterdir())) == 6


def test_command_refuses_a_non_empty_folder_without_overwrite(report_photos, tmp_path, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "x").write_text("")
    one = str(report_photos / "cat.png")
    assert main(["report", one, "--model", "niqe", "--out", str(out)]) == 2
    assert "is not empty; give --overwrite" in capsys.readouterr().err
    assert main(["report", one, "--model", "niqe", "--out", str(out), "--overwrite",
                 "--quiet"]) == 0
    assert capsys.readouterr().err == "" and (out / "index.html").is_file()


@pytest.mark.parametrize(("case", "code", "message"), [
    ("out_is_file", 2, "is not a directory"),
    ("no_images", 1, "no images found"),
    ("bad_model", 2, "nope"),
])
def test_command_errors(case, code, message, tmp_path, report_photos, capsys):
    (tmp_path / "file").write_text("")
    (tmp_path / "empty").mkdir()
    one, out = str(report_photos / "cat.png"), str(tmp_path / "rep")
    argv = {"out_is_file": [one, "--out", str(tmp_path / "file"), "--model", "niqe"],
            "no_images": [str(tmp_path / "empty"), "--out", out, "--model", "niqe"],
            "bad_model": [one, "--out", out, "--model", "nope"]}[case]
    assert main(["report", *argv]) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()


def test_command_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "x.png", "--out", str(tmp_path / "rep"), "--thumb-side", "0"])
    assert exc.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["report", "x.png"])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err


def test_command_groups_bursts(report_photos, tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["report", str(report_photos), "--model", "niqe", "--out", str(out),
                 "--workers", "0", "--quiet", "--bursts"])
    assert code == 1  # the corrupt file
    cards = {c["data-name"].rsplit("/", 1)[-1]: c
             for c in gallery((out / "index.html").read_text(encoding="utf-8"))}
    # by name: the mirrored coffee | blocky cat, cat | coffee, noisy coffee | corrupt
    bursts = {name: int(c["data-burst"]) for name, c in cards.items()}
    assert bursts["blocky.png"] == bursts["cat.png"]
    assert bursts["coffee.jpg"] == bursts["noisy.png"] != bursts["cat.png"]
    assert len(set(bursts.values())) == 4
    best = [name for name, c in cards.items() if c["badge"] == "burst best"]
    assert sorted(best) == sorted(
        max(pair, key=lambda n: float(cards[n]["data-quality"]))
        for pair in (("blocky.png", "cat.png"), ("coffee.jpg", "noisy.png")))
    assert cards["corrupt.jpg"]["badge"] == ""


def test_command_refuses_bad_burst_settings(report_photos, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", str(report_photos), "--out", str(tmp_path / "r"), "--bursts",
              "--burst-seconds", "x"])
    assert exc.value.code == 2
    code = main(["report", str(report_photos), "--out", str(tmp_path / "r"), "--bursts",
                 "--burst-distance", "5", "--model", "niqe"])
    assert code == 2 and "between 0 and 2" in capsys.readouterr().err


def test_report_maps_show_the_photo_beside_its_map(report_photos, tmp_path, capsys,
                                                   map_render_spy):
    out = tmp_path / "rep"
    assert main(["report", str(report_photos / "coffee.jpg"), "--model", "niqe", "--out",
                 str(out), "--workers", "0", "--quiet", "--map-opacity", "0.8"]) == 0
    windows = blindiqa.load("niqe").window_scale
    (call,) = map_render_spy
    assert call["beside"] is True and call["alpha"] == 0.8
    assert call["window_scale"].windows == windows.windows  # the model's window scale
    with Image.open(report_photos / "coffee.jpg") as photo, \
            Image.open(out / "maps" / "000000.jpg") as drawing:
        assert drawing.width >= 2 * photo.width  # the photo, then its map
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'alt="the photo (left) and its quality map (right)"' in page
    assert 'title="show the photo beside its quality map"' in page


@pytest.mark.parametrize("bad", ["-0.1", "1.5", "nan", "half"])
def test_report_refuses_an_opacity_outside_0_to_1(bad, report_photos, tmp_path, capsys):
    out = tmp_path / "rep"
    with pytest.raises(SystemExit) as exc:
        main(["report", str(report_photos), "--out", str(out), f"--map-opacity={bad}"])
    assert exc.value.code == 2
    assert "a map opacity is a number from 0 to 1" in capsys.readouterr().err
    assert not out.exists()


def test_title_extremes_and_thumb_side_reach_the_page(report_photos, tmp_path):
    out = tmp_path / "rep"
    assert main(["report", str(report_photos), "--model", "niqe", "--out", str(out),
                 "--workers", "0", "--quiet", "--title", "Holiday <1>", "--extremes", "0",
                 "--thumb-side", "64"]) == 1  # the corrupt file
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<title>Holiday &lt;1&gt;</title>" in page
    assert set(_cards(page)) == {"gallery"}  # no worst and best sections
    for thumb in (out / "thumbs").iterdir():
        with Image.open(thumb) as im:
            assert max(im.size) == 64
