"""The contact sheet and the ``blindiqa distortions`` command."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from PIL import Image

from blindiqa.cli import distortions as cli
from blindiqa.distortions import make_sheet
from blindiqa.distortions.sheet import prepare_tile


def test_prepare_tile_keeps_orientation():
    assert prepare_tile(torch.rand(3, 100, 200), 64).shape == (1, 3, 48, 64)
    assert prepare_tile(torch.rand(3, 200, 100), 64).shape == (1, 3, 64, 48)


def test_make_sheet(tmp_path, images):
    path = make_sheet(images[0], tmp_path / "sub" / "s.png",
                      generator=torch.Generator().manual_seed(0), tile=64)
    assert path.exists()
    with Image.open(path) as im:
        w, h = im.size
        assert im.mode == "RGB"
    assert h > 25 * 48 and w > 6 * 64
    again = make_sheet(images[0], tmp_path / "t.png",
                       generator=torch.Generator().manual_seed(0), tile=64)
    with Image.open(path) as a, Image.open(again) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_make_sheet_errors(tmp_path):
    with pytest.raises(ValueError):
        make_sheet(torch.rand(1, 3, 64, 64), tmp_path / "x.png")
    with pytest.raises(ValueError):
        make_sheet(torch.zeros(3, 64, 64, dtype=torch.uint8), tmp_path / "x.png")
    with pytest.raises(ValueError):
        make_sheet(torch.rand(3, 64, 64), tmp_path / "x.png", tile=32)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blindiqa")
    cli.register(parser.add_subparsers(dest="command"))
    return parser


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


def test_cli_sheet(tmp_path, images, capsys):
    src = tmp_path / "in.png"
    arr = (images[2].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr).save(src)
    out = tmp_path / "sheet.png"
    assert _run(["distortions", "sheet", str(src), "--out", str(out), "--seed", "3",
                 "--size", "64"]) == 0
    assert out.exists()
    assert str(out) in capsys.readouterr().out


def test_cli_sheet_errors(tmp_path, capsys):
    assert _run(["distortions", "sheet", str(tmp_path / "missing.png"),
                 "--out", str(tmp_path / "o.png")]) == 1
    assert "error" in capsys.readouterr().err
    assert _run(["distortions", "sheet", str(tmp_path / "missing.png"), "--size", "10"]) == 2
    with pytest.raises(SystemExit):
        _parser().parse_args(["distortions", "sheet"])  # IMAGE is required


def test_cli_list_and_no_action(capsys):
    assert _run(["distortions", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 25 and "gaussian_blur" in lines[0]
    assert _run(["distortions"]) == 2
