"""``blindiqa bench`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_helpers import FAKE, BrightnessModel

from blindiqa.cli.main import main


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse errors
        return int(exc.code)


@pytest.mark.parametrize("dataset", ["nodelimiter", "=root", "name=", "bad/name=root"])
def test_bad_dataset_argument(dataset: str, tmp_path: Path,
                              capsys: pytest.CaptureFixture) -> None:
    code = _exit_code(["bench", "--model", "x", "--dataset", dataset, "--out", str(tmp_path)])
    assert code == 2
    assert "argument --dataset" in capsys.readouterr().err


def test_missing_required_options(tmp_path: Path) -> None:
    assert _exit_code(["bench", "--model", "x", "--out", str(tmp_path)]) == 2
    assert _exit_code(["bench", "--model", "x", "--dataset", f"a={tmp_path}"]) == 2


@pytest.mark.parametrize("opt", [["--limit", "0"], ["--workers", "-1"], ["--limit", "x"]])
def test_bad_numbers(opt: list[str], tmp_path: Path) -> None:
    argv = ["bench", "--model", "x", "--dataset", f"a={tmp_path}", "--out", str(tmp_path)]
    assert _exit_code(argv + opt) == 2


def test_unknown_model_and_dataset(fake_model: type[BrightnessModel], generic_tree: Path,
                                   tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = str(tmp_path / "out")
    assert _exit_code(["bench", "--model", "nope", "--dataset", f"t={generic_tree}",
                       "--out", out]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert _exit_code(["bench", "--model", FAKE, "--dataset", f"t={tmp_path / 'none'}",
                       "--out", out]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_run_prints_table(fake_model: type[BrightnessModel], generic_tree: Path,
                              tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    argv = ["bench", "--model", FAKE, "--dataset", f"tiny={generic_tree}", "--out", str(out),
            "--workers", "0", "--quiet", "--no-plots"]
    assert _exit_code(argv) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("| model | dataset | n | srcc | plcc | krcc |")
    assert f"| {FAKE} | tiny | 8 |" in stdout
    assert (out / "results.csv").is_file() and not (out / "plots").exists()
