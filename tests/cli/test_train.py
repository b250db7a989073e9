"""``blindiqa train synthetic`` on the command line (progress lines, ``--quiet``), and its
encoder in fit-pristine; every field of a stage's config is an option."""

from __future__ import annotations

import argparse
import json

import pytest

import blindiqa
from blindiqa.cli import main as cli_main
from blindiqa.cli import train as train_cli
from blindiqa.train.authentic import AuthenticConfig
from blindiqa.train.settings import option_names
from blindiqa.train.synthetic import SyntheticConfig

TINY = ["--encoder", "efficientnet_lite0", "--work-size", "128", "--scenes-per-batch", "2",
        "--k", "2", "--device", "cpu", "--workers", "0", "--quiet"]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="blindiqa")
    train_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_register_on_own_parser(tmp_path):
    args = parse(["train", "synthetic", "--images", "a", "b", "--out", str(tmp_path),
                  "--no-amp", "--crop", "224", "--objective", "contrique", "--resume"])
    assert args.images == ["a", "b"] and args.amp is False and args.crop == 224
    assert args.objective == "contrique" and args.resume and args.func is train_cli.run_synthetic
    assert args.epochs is None and args.lr is None  # not given: defaults or the saved run's


def test_train_without_stage_prints_help(capsys):
    args = parse(["train"])
    assert args.func(args) == 2
    assert "synthetic" in capsys.readouterr().err


def test_main_with_train_command(pristine_dir, tmp_path, capsys):
    assert "train" in cli_main.COMMANDS
    out = tmp_path / "run"
    code = cli_main.main(["train", "synthetic", "--images", str(pristine_dir), "--out",
                          str(out), "--epochs", "1", "--steps-per-epoch", "2", *TINY])
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["step"] == 2
    assert "next:" not in capsys.readouterr().err  # --quiet
    # the encoder it wrote is accepted by fit-pristine
    model_file = tmp_path / "m.safetensors"
    code = cli_main.main(["fit-pristine", str(pristine_dir), "--encoder",
                          "efficientnet_lite0", "--encoder-checkpoint",
                          str(out / "encoder.pt"), "--out", str(model_file), "--engine",
                          "crops", "--patch-size", "64", "--quiet"])
    assert code == 0
    model = blindiqa.load(model_file)
    assert model.config.weights == "bundle" and model.config.layers == ("head",)
    # a second run into the same folder without --resume is refused
    code = cli_main.main(["train", "synthetic", "--images", str(pristine_dir), "--out",
                          str(out), *TINY])
    assert code == 1 and "--resume" in capsys.readouterr().err
    # --resume with another seed is refused, with the same settings it extends the run
    assert train_cli.main(["synthetic", "--out", str(out), "--resume", "--seed", "5",
                           "--quiet"]) == 1
    assert train_cli.main(["synthetic", "--out", str(out), "--resume", "--epochs", "2",
                           "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["step"] == 4


def test_cli_errors(tmp_path, capsys):
    assert train_cli.main(["synthetic", "--out", str(tmp_path / "r"), "--quiet"]) == 1
    assert "no training images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        train_cli.main(["synthetic", "--images", "x"])  # --out is required
    assert exc.value.code == 2


def test_redirected_run_prints_progress_lines_unless_quiet(pristine_dir, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setenv("BLINDIQA_PROGRESS_EVERY", "0")
    argv = ["train", "synthetic", "--images", str(pristine_dir), "--epochs", "1",
            "--steps-per-epoch", "2", *(a for a in TINY if a != "--quiet")]
    assert cli_main.main([*argv, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err  # not a terminal: plain lines, no bar
    assert err.startswith("training efficientnet_lite0") and "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("synthetic: ")]
    assert lines[0].startswith("synthetic: 1/2 (50.0%), ")
    assert "step/s" in lines[0] and "ETA" in lines[0] and "loss=" in lines[0]
    assert lines[-1].startswith("synthetic: 2/2 (100.0%), ") and "done" in lines[-1]
    assert "crops_s=" in lines[-1]
    assert cli_main.main([*argv, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_authentic_stage_comes_from_its_module(monkeypatch):
    import blindiqa.cli.train as train_cli

    def register_subcommand(stages):
        p = stages.add_parser("authentic")
        p.set_defaults(func=lambda args: 0)

    monkeypatch.setattr(train_cli, "register_subcommand", register_subcommand)
    assert parse(["train", "authentic"]).func(None) == 0


@pytest.mark.parametrize("stage,config_type", [("synthetic", SyntheticConfig),
                                               ("authentic", AuthenticConfig)])
def test_every_config_field_is_a_cli_option(stage, config_type, tmp_path):
    parser = argparse.ArgumentParser(prog="blindiqa")
    train_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", stage, "--out", str(tmp_path)])
    for name in option_names(config_type):
        assert getattr(args, name) is None, name  # an option, not given
