"""The report's map pictures: the plain photo beside its map, on the window scale, at the
opacity asked for."""

from __future__ import annotations

import pytest
from PIL import Image

import blindiqa
import blindiqa.viz
from blindiqa.cli.main import main
from blindiqa.report import write_report
from blindiqa.scoring import score_files
from blindiqa.scoring.inputs import iter_inputs


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


def test_write_report_checks_the_opacity_before_writing(report_photos, tmp_path):
    model = blindiqa.load("niqe")
    records = score_files(model, iter_inputs([str(report_photos / "cat.png")]),
                          with_maps=True)
    with pytest.raises(ValueError, match="opacity"):
        write_report(records, tmp_path / "rep", model_name="niqe", map_opacity=2.0)
    assert not (tmp_path / "rep").exists()
