import csv
import io
import json
from pathlib import Path

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
    assert [r["path"] for r in rows] == [f"{mixed_folder}/{n}" for n in (
        "corrupt.jpg", "good1.jpg", "good2.png", "gray.png", "small.png")]
    by = {Path(r["path"]).name: r for r in rows}
    assert by["corrupt.jpg"]["score"] == "" and "corrupt" in by["corrupt.jpg"]["error"]
    assert by["small.png"]["score"] == "" and "at least 96x96" in by["small.png"]["error"]
    for name in ("good1.jpg", "good2.png", "gray.png"):
        assert float(by[name]["score"]) > 0 and by[name]["error"] == ""
    assert "scored 3, failed 2" in err


def test_scores_do_not_depend_on_neighbours_workers_or_batch(mixed_folder, model_file, capsys):
    main(["score", str(mixed_folder), "--model", model_file, "--workers", "0"])
    all_rows = {Path(r["path"]).name: r["score"] for r in _rows(capsys.readouterr().out)}
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
        f"{mixed_folder}/corrupt.jpg", f"{mixed_folder}/small.png"}


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


def _noise_image(path: Path, seed: int, size: int = 128) -> None:
    """A small random RGB image that every model can score (at least 96x96)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def test_two_folders_with_the_same_file_name(tmp_path, monkeypatch, capsys):
    _noise_image(tmp_path / "dupA" / "x.jpg", 0)
    _noise_image(tmp_path / "dupB" / "x.jpg", 1)
    _noise_image(tmp_path / "dupB" / "sub" / "x.jpg", 2)
    monkeypatch.chdir(tmp_path)
    code = main(["score", "dupA", "./dupB/", "--model", "niqe", "--workers", "0",
                 "--out", "s.csv", "--maps", "maps", "--quiet"])
    assert code == 0
    rows = _rows((tmp_path / "s.csv").read_text())
    assert [r["path"] for r in rows] == ["dupA/x.jpg", "./dupB/sub/x.jpg", "./dupB/x.jpg"]
    assert len({r["score"] for r in rows}) == 3  # three images, three scores
    maps = sorted(p.relative_to(tmp_path / "maps").as_posix()
                  for p in (tmp_path / "maps").rglob("*.png"))
    assert maps == ["dupA/x.jpg.png", "dupB/sub/x.jpg.png", "dupB/x.jpg.png"]


def test_absolute_folder_names_and_one_folder_maps(tmp_path, capsys):
    _noise_image(tmp_path / "photos" / "x.jpg", 0)
    maps = tmp_path / "maps"
    code = main(["score", str(tmp_path / "photos"), "--model", "niqe", "--workers", "0",
                 "--maps", str(maps), "--quiet"])
    (row,) = _rows(capsys.readouterr().out)
    assert code == 0 and row["path"] == f"{tmp_path}/photos/x.jpg"
    assert [p.name for p in maps.rglob("*.png")] == ["x.jpg.png"]  # one folder: its layout
    assert (maps / "x.jpg.png").is_file()


@pytest.mark.parametrize("name", ["s.txt", "scores", "s.json", "s.csv.gz"])
def test_out_with_an_unknown_extension_is_refused(tmp_path, capsys, name):
    _noise_image(tmp_path / "x.png", 0)
    out = tmp_path / name
    assert main(["score", str(tmp_path / "x.png"), "--model", "niqe", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: unknown file type" in err and ".csv, .jsonl, .ndjson" in err
    assert not out.exists()


@pytest.mark.parametrize(("name", "jsonl"), [("s.CSV", False), ("s.ndjson", True),
                                             ("s.JSONL", True)])
def test_out_extensions_choose_the_format(tmp_path, capsys, name, jsonl):
    _noise_image(tmp_path / "x.png", 0)
    out = tmp_path / name
    assert main(["score", str(tmp_path / "x.png"), "--model", "niqe", "--out", str(out),
                 "--quiet", "--workers", "0"]) == 0
    text = out.read_text()
    if jsonl:
        assert json.loads(text)["path"] == str(tmp_path / "x.png")
    else:
        assert _rows(text)[0]["path"] == str(tmp_path / "x.png")


def test_empty_folder_among_inputs_warns_and_goes_on(tmp_path, monkeypatch, capsys):
    _noise_image(tmp_path / "photos" / "x.png", 0)
    (tmp_path / "EMPTY" / "sub").mkdir(parents=True)
    (tmp_path / "EMPTY" / "notes.txt").write_text("no image here")
    monkeypatch.chdir(tmp_path)
    code = main(["score", "EMPTY", "photos", "--model", "niqe", "--workers", "0"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "blindiqa: warning: no images found in EMPTY/\n" in err
    assert "scored 1, failed 0" in err
    assert [r["path"] for r in _rows(out)] == ["photos/x.png"]


def test_lone_empty_folder_is_an_error_without_a_warning(tmp_path, capsys):
    assert main(["score", str(tmp_path), "--model", "niqe"]) == 1
    err = capsys.readouterr().err
    assert "error: no images found" in err and "warning" not in err
