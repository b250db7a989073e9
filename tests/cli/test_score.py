import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from blindiqa.cli.main import main
from blindiqa.models.bundle import save_bundle


@pytest.fixture()
def model_file(tmp_path, small_model):
    path = tmp_path / "small.safetensors"
    save_bundle(path, *small_model.bundle_contents())
    return str(path)


@pytest.fixture()
def mixed_folder(tmp_path, photo, photo2):
    d = tmp_path / "photos"
    d.mkdir()
    Image.fromarray(photo).save(d / "good1.jpg", quality=95)
    Image.fromarray(photo2).save(d / "good2.png")
    Image.fromarray(photo.mean(2).astype(np.uint8)).save(d / "gray.png")
    Image.fromarray(photo[:50, :50]).save(d / "small.png")
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    return d


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_folder_with_bad_images(mixed_folder, model_file, capsys):
    code = main(["score", str(mixed_folder), "--model", model_file, "--workers", "0"])
    out, err = capsys.readouterr()
    rows = _rows(out)
    assert code == 1
    assert [r["path"] for r in rows] == ["corrupt.jpg", "good1.jpg", "good2.png", "gray.png",
                                         "small.png"]
    by = {r["path"]: r for r in rows}
    assert by["corrupt.jpg"]["score"] == "" and "corrupt" in by["corrupt.jpg"]["error"]
    assert by["small.png"]["score"] == "" and "at least 96x96" in by["small.png"]["error"]
    for name in ("good1.jpg", "good2.png", "gray.png"):
        assert float(by[name]["score"]) > 0 and by[name]["error"] == ""
    assert "scored 3, failed 2" in err


def test_scores_do_not_depend_on_neighbours_workers_or_batch(mixed_folder, model_file, capsys):
    main(["score", str(mixed_folder), "--model", model_file, "--workers", "0"])
    all_rows = {r["path"]: r["score"] for r in _rows(capsys.readouterr().out)}
    code = main(["score", str(mixed_folder / "good2.png"), "--model", model_file,
                 "--workers", "2", "--batch-size", "1", "--quiet"])
    (row,) = _rows(capsys.readouterr().out)
    assert code == 0 and row["score"] == all_rows["good2.png"]


def test_out_csv_jsonl_and_maps(tmp_path, mixed_folder, model_file, capsys):
    out_csv = tmp_path / "res" / "s.csv"
    maps = tmp_path / "maps"
    code = main(["score", str(mixed_folder / "good1.jpg"), str(mixed_folder / "gray.png"),
                 "--model", model_file, "--out", str(out_csv), "--maps", str(maps),
                 "--quiet", "--workers", "0"])
    assert code == 0 and capsys.readouterr().out == ""
    rows = _rows(out_csv.read_text())
    assert len(rows) == 2 and not list(out_csv.parent.glob(".*"))  # no temporary left
    pngs = sorted(p.name for p in maps.glob("*.png"))
    assert pngs == ["good1.jpg.png", "gray.png.png"]
    with Image.open(maps / "gray.png.png") as im:
        assert im.width > 256  # the image plus a colour bar
    out_j = tmp_path / "s.jsonl"
    main(["score", str(mixed_folder), "--model", model_file, "--out", str(out_j), "--quiet",
          "--workers", "0"])
    recs = [json.loads(line) for line in out_j.read_text().splitlines()]
    assert len(recs) == 5 and {r["path"] for r in recs if r["score"] is None} == {
        "corrupt.jpg", "small.png"}


def test_bad_usage_exit_2(model_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["score"])
    assert e.value.code == 2
    assert main(["score", str(tmp_path), "--model", "no-such-model"]) == 2
    assert "unknown model" in capsys.readouterr().err
    capsys.readouterr()
    for option, value, message in (("--batch-size", "0", "must be at least 1, got 0"),
                                   ("--workers", "-1", "must be 0 or more, got -1")):
        with pytest.raises(SystemExit) as e:
            main(["score", str(tmp_path), option, value])
        assert e.value.code == 2
        assert f"argument {option}: {message}" in capsys.readouterr().err


def test_empty_folder(tmp_path, model_file, capsys):
    assert main(["score", str(tmp_path), "--model", model_file]) == 1
    assert "no images found" in capsys.readouterr().err


def test_default_model_scores_a_photo(tmp_path, photo, capsys):
    Image.fromarray(photo).save(tmp_path / "p.png")
    assert main(["score", str(tmp_path / "p.png"), "--workers", "0"]) == 0
    (row,) = _rows(capsys.readouterr().out)
    assert float(row["score"]) > 0
