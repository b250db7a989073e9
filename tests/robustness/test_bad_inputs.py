"""Bad, odd and hostile input files through the API and the ``score`` command.

Each file case of ``robustness_cases.FILE_CASES`` must get a finite score or a clear
error, through ``model.score`` and as exactly one CSV row of ``blindiqa score``.
"""

from __future__ import annotations

import csv
import math
import os
import re
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from robustness_cases import (
    ARRAY_CASES,
    CASES_BY_NAME,
    CLI_CASES,
    FILE_CASES,
    SIDE,
    Case,
    animated_frames,
    exif_pair,
    photo_array,
)

from blindiqa.cli.main import main
from blindiqa.io.decode import ImageDecodeError, decode_image
from blindiqa.models.base import ModelInfo, QualityModel
from blindiqa.scoring import score_files


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------ the API
@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.name)
def test_api_scores_or_refuses_clearly(case: Case, tmp_path: Path, small_model) -> None:
    path = case.make(tmp_path)
    if case.expect == "score":
        scores = small_model.score(path)
        assert scores.shape == (1,) and math.isfinite(float(scores[0]))
    else:
        with pytest.raises(ValueError, match=case.message):
            small_model.score(path)


@pytest.mark.parametrize("case", ARRAY_CASES, ids=lambda c: c.name)
def test_api_refuses_bad_arrays(case, small_model) -> None:
    with pytest.raises(ValueError, match=case.message):
        small_model.score(case.make())


def test_decode_errors_name_the_file(tmp_path: Path) -> None:
    for case in FILE_CASES:
        if case.expect == "error" and case.name not in ("smaller-than-patch", "one-pixel"):
            path = case.make(tmp_path)
            with pytest.raises(ImageDecodeError) as info:
                decode_image(path)
            assert str(path) in str(info.value), case.name


# ------------------------------------------------------------------------ the CLI
@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory, model_file: str):
    """All file cases scored by one ``blindiqa score`` run (files given one by one)."""
    folder = tmp_path_factory.mktemp("inputs")
    paths = [case.make(folder) for case in CLI_CASES]
    out = folder.parent / "scores.csv"
    code = main(["score", *map(str, paths), "--model", model_file, "--workers", "0",
                 "--quiet", "--out", str(out)])
    return code, paths, _read_rows(out)


def test_cli_one_row_per_input_in_order(cli_run) -> None:
    code, paths, rows = cli_run
    assert code == 1  # some inputs failed
    assert len(rows) == len(paths) == len(CLI_CASES)
    for path, row in zip(paths, rows, strict=True):
        if "bad-" not in path.name:  # the non-UTF-8 name is written escaped (below)
            assert row["path"] == str(path)


@pytest.mark.parametrize("index", range(len(CLI_CASES)), ids=[c.name for c in CLI_CASES])
def test_cli_row(cli_run, index: int) -> None:
    case = CLI_CASES[index]
    _, _, rows = cli_run
    row = rows[index]
    if case.expect == "score":
        assert row["error"] == "" and math.isfinite(float(row["score"]))
    else:
        assert row["score"] == "" and re.search(case.message, row["error"]), row
    assert "nan" not in row["score"].lower() and "inf" not in row["score"].lower()


def test_folder_named_like_an_image_is_walked(tmp_path: Path, model_file: str,
                                              capsys) -> None:
    d = CASES_BY_NAME["directory"].make(tmp_path)
    Image.fromarray(photo_array()).save(d / "inside.png")
    assert main(["score", str(d), "--model", model_file, "--workers", "0", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(f"{d}/inside.png,")


def test_cli_single_file_exit_codes(tmp_path: Path, model_file: str, capsys) -> None:
    good = CASES_BY_NAME["cmyk-jpeg"].make(tmp_path)
    bad = CASES_BY_NAME["text-as-jpeg"].make(tmp_path)
    assert main(["score", str(good), "--model", model_file, "--workers", "0"]) == 0
    assert main(["score", str(bad), "--model", model_file, "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "scored 0, failed 1" in err


def test_cli_with_worker_processes_gives_the_same_rows(cli_run, tmp_path: Path,
                                                        model_file: str) -> None:
    _, paths, rows = cli_run
    keep = [p for p in paths if p.name != "fifo.png"]
    out = tmp_path / "w.csv"
    main(["score", *map(str, keep), "--model", model_file, "--workers", "2", "--quiet",
          "--out", str(out)])
    again = _read_rows(out)
    expected = [r for r, p in zip(rows, paths, strict=True) if p.name != "fifo.png"]
    assert again == expected


def test_non_utf8_name_is_written_escaped(cli_run) -> None:
    _, paths, rows = cli_run
    (row,) = [r for r, p in zip(rows, paths, strict=True) if p.name.startswith("bad-")]
    assert row["path"].endswith("bad-\\xff\\xfe-name.png") and row["error"] == ""


def test_non_utf8_name_on_stdout_and_jsonl(tmp_path: Path, model_file: str, capsys) -> None:
    path = CASES_BY_NAME["non-utf8-name"].make(tmp_path)
    assert main(["score", str(tmp_path), "--model", model_file, "--workers", "0",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bad-\\xff\\xfe-name.png," in out
    jl = tmp_path.parent / f"{tmp_path.name}.jsonl"
    assert main(["score", str(path), "--model", model_file, "--workers", "0", "--quiet",
                 "--out", str(jl)]) == 0
    assert "bad-\\\\xff\\\\xfe-name.png" in jl.read_text(encoding="utf-8")


def test_flat_image_with_niqe_is_an_error_not_nan(tmp_path: Path, capsys) -> None:
    black = CASES_BY_NAME["all-black"].make(tmp_path)
    out = tmp_path / "niqe.csv"
    code = main(["score", str(black), "--model", "niqe", "--workers", "0", "--quiet",
                 "--out", str(out)])
    (row,) = _read_rows(out)
    assert code == 1 and row["score"] == "" and "not finite" in row["error"]
    assert "nan" not in out.read_text().split("\n")[1].split(",")[1]


# ------------------------------------------------------------------------ what is decoded
def test_sixteen_bit_pngs_decode_like_their_eight_bit_data(tmp_path: Path) -> None:
    arr = photo_array()
    gray = decode_image(CASES_BY_NAME["png16-gray"].make(tmp_path))
    assert torch.equal(gray[0], torch.from_numpy(arr[..., 1]).float() / 255)
    rgb = decode_image(CASES_BY_NAME["png16-rgb"].make(tmp_path))
    assert torch.equal(rgb, torch.from_numpy(arr).permute(2, 0, 1).float() / 255)


def test_dark_sixteen_bit_png_is_not_stretched(tmp_path: Path) -> None:
    p = tmp_path / "dark16.png"
    Image.fromarray(np.full((8, 8), 200, np.uint16)).save(p)  # 200 / 65535: near black
    assert float(decode_image(p).max()) == pytest.approx(1 / 255)


def test_animated_gif_scores_its_first_frame(tmp_path: Path) -> None:
    t = decode_image(CASES_BY_NAME["animated-gif"].make(tmp_path))
    first = np.asarray(animated_frames()[0].convert("RGB"))
    assert torch.equal(t, torch.from_numpy(first.copy()).permute(2, 0, 1).float() / 255)


def test_exif_orientation_is_applied(tmp_path: Path, small_model) -> None:
    tagged, plain = exif_pair(tmp_path)
    t, p = decode_image(tagged), decode_image(plain)
    assert p.shape == (3, SIDE, SIDE + 40) and t.shape == (3, SIDE + 40, SIDE)
    assert torch.equal(t, torch.rot90(p, -1, dims=(1, 2)))  # turned clockwise, as viewed
    with Image.open(tagged) as im:  # a PIL image input is turned the same way
        assert torch.equal(small_model.score(im), small_model.score(tagged))


def test_palette_with_transparency_decodes_without_warnings(tmp_path: Path) -> None:
    path = CASES_BY_NAME["palette-transparent"].make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = decode_image(path)
    assert t.shape == (3, SIDE, SIDE)


def test_cmyk_palette_bilevel_la_become_rgb(tmp_path: Path) -> None:
    for name in ("cmyk-jpeg", "palette", "gray-alpha", "bilevel", "rgba", "float-tiff"):
        t = decode_image(CASES_BY_NAME[name].make(tmp_path))
        assert t.shape == (3, SIDE, SIDE) and t.dtype == torch.float32, name
        assert 0 <= float(t.min()) <= float(t.max()) <= 1
    bilevel = decode_image(tmp_path / "bilevel.png")
    assert set(torch.unique(bilevel).tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("name", ["bomb-10gpx", "bomb-225mpx"])
def test_decompression_bomb_is_refused_without_allocating(name: str, tmp_path: Path) -> None:
    path = CASES_BY_NAME[name].make(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(ImageDecodeError, match="too large to decode safely"):
            decode_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak


def test_bomb_just_under_the_limit_is_decoded_lazily(tmp_path: Path) -> None:
    # 14000 x 14000 = 196 Mpixel claimed, 64 bytes of data: refused as truncated, quickly
    from robustness_cases import png_bytes

    p = tmp_path / "big.png"
    p.write_bytes(png_bytes(14_000, 14_000))
    with pytest.raises(ImageDecodeError, match="truncated"):
        decode_image(p)


# ------------------------------------------------------------------------ unreadable files
def test_unreadable_file_chmod_000(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading (the "
                    "permission error is simulated in the next test)")
    path = CASES_BY_NAME["cmyk-jpeg"].make(tmp_path)
    path.chmod(0)
    try:
        with pytest.raises(ImageDecodeError, match="permission denied"):
            decode_image(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch, small_model) -> None:
    import blindiqa.io.decode as decode

    good = CASES_BY_NAME["cmyk-jpeg"].make(tmp_path)
    locked = tmp_path / "locked.png"
    Image.fromarray(photo_array()).save(locked)
    real_open = decode.Image.open

    def fake_open(fp, *args, **kwargs):
        if Path(fp) == locked:
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(decode.Image, "open", fake_open)
    with pytest.raises(ImageDecodeError, match="permission denied"):
        decode_image(locked)
    recs = list(score_files(small_model, [(locked, "locked.png"), (good, "good.jpg")]))
    assert "permission denied" in recs[0].error and recs[1].score is not None


# ------------------------------------------------------------------------ model failures
class _Flaky(QualityModel):
    """Fails with RuntimeError / MemoryError on chosen images, scores the rest."""

    def __init__(self) -> None:
        super().__init__("flaky")

    @property
    def min_size(self) -> int:
        return 8

    def score_tensor(self, image: torch.Tensor) -> float:
        mean = float(image.mean())
        if mean > 0.9:
            raise RuntimeError("CUDA out of memory.\nTried to allocate 20 GiB")
        if mean < 0.1:
            raise MemoryError
        return mean

    def quality_map_tensor(self, image: torch.Tensor) -> np.ndarray:
        return np.zeros((1, 1))

    def info(self) -> ModelInfo:
        return ModelInfo("flaky", 1, "none")


def test_model_failure_on_one_image_does_not_stop_the_run(tmp_path: Path) -> None:
    paths = []
    for name, value in (("white", 255), ("mid", 128), ("black", 0), ("mid2", 100)):
        paths.append(tmp_path / f"{name}.png")
        Image.new("RGB", (16, 16), (value,) * 3).save(paths[-1])
    recs = list(score_files(_Flaky(), [(p, p.name) for p in paths]))
    assert [r.score is not None for r in recs] == [False, True, False, True]
    assert recs[0].error == ("the model failed on this image (RuntimeError: CUDA out of "
                             "memory.)")
    assert "MemoryError" in recs[2].error
