"""``blindiqa distortions``: ``sheet`` writes a contact sheet, ``list`` the 25 types;
errors and a missing action."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image

from blindiqa.cli import distortions as cli


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


def test_cli_list_numbers_the_kadid_types_each_with_its_levels(capsys):
    assert _run(["distortions", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [int(line.split()[0]) for line in lines] == list(range(1, 26))
    assert len({line.split()[1] for line in lines}) == 25  # one name each
    assert "sigma (px): 0.5, 1.0, 1.5, 2.5, 5.0" in lines[0]  # gaussian_blur's 5 levels


def test_cli_sheet_without_the_reference_column(tmp_path, images, capsys):
    src = tmp_path / "in.png"
    arr = (images[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr).save(src)
    widths = []
    for extra in ([], ["--no-reference"]):
        out = tmp_path / f"sheet{len(extra)}.png"
        assert _run(["distortions", "sheet", str(src), "--out", str(out), "--size", "64",
                     *extra]) == 0
        with Image.open(out) as im:
            widths.append(im.width)
    assert widths[1] < widths[0]
