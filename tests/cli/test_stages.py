"""What the stages of ``blindiqa train`` share (``blindiqa.cli.stages``): the run options
built from ``RunOptions``' fields, running a stage from its options (exit codes, the
``next:`` line) and the fit-pristine command that makes a model of a run."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from blindiqa.cli import train as train_cli
from blindiqa.cli.stages import run_stage
from blindiqa.train.settings import option_names
from blindiqa.train.synthetic import SyntheticConfig


def test_run_stage_passes_the_fields_as_settings(tmp_path):
    seen = {}

    def resolve(given, out, resume):
        seen.update(given)
        raise ValueError("stop here")

    args = argparse.Namespace(out=str(tmp_path), resume=False, quiet=True,
                              **{n: None for n in option_names(SyntheticConfig)})
    args.lr = 0.5
    assert train_cli.run_stage(args, SyntheticConfig, resolve, None) == 1
    assert set(seen) == set(option_names(SyntheticConfig)) and seen["lr"] == 0.5


def test_run_option_flags_come_from_the_fields():
    import argparse
    import dataclasses

    from blindiqa.cli.stages import add_run_options
    from blindiqa.train.settings import HELP_KEY, RunOptions, resume_rule

    p = argparse.ArgumentParser()
    add_run_options(p)
    by_dest = {a.dest: a for a in p._actions}
    for f in dataclasses.fields(RunOptions):
        action = by_dest[f.name]
        assert action.option_strings[0] == "--" + f.name.replace("_", "-")
        assert action.help == f.metadata[HELP_KEY] and action.default is None
        assert resume_rule(f) in ("inherited", "fresh")
    given = vars(p.parse_args(["--device", "cpu", "--workers", "2", "--no-amp",
                               "--max-minutes", "1.5", "--max-steps", "7"]))
    assert given["device"] == "cpu" and given["workers"] == 2 and given["amp"] is False
    assert given["max_minutes"] == 1.5 and given["max_steps"] == 7
    assert given["checkpoint_every"] is None and given["channels_last"] is None
    assert {"resume", "quiet"} <= set(by_dest)


def test_the_next_command_makes_a_model_of_the_run():
    from types import SimpleNamespace

    from blindiqa.cli.stages import fit_pristine_command

    synthetic = SimpleNamespace(encoder="resnet50", resolved_layer="layer4",
                                normalization="imagenet")
    assert fit_pristine_command(synthetic, "runs/s1") == (
        "blindiqa fit-pristine DIR --encoder resnet50 --layer layer4 --normalization "
        "imagenet --encoder-checkpoint runs/s1/encoder.pt --out MODEL")
    authentic = SimpleNamespace(encoder="resnet50", resolved_layer="layer4",
                                normalization=None, resolved_normalization="none")
    assert "--normalization none " in fit_pristine_command(authentic, "runs/s2")
    head = SimpleNamespace(types=3)
    assert fit_pristine_command(head, "runs/h1") == (
        "blindiqa fit-pristine DIR --head runs/h1 --out MODEL")


def _args(tmp_path, quiet: bool) -> argparse.Namespace:
    return argparse.Namespace(out=str(tmp_path), resume=False, quiet=quiet,
                              **{n: None for n in option_names(SyntheticConfig)})


@pytest.mark.parametrize(("stopped", "code"), [("max_steps", 0), ("nonfinite", 1)])
def test_run_stage_exit_code_and_next_line(tmp_path, capsys, stopped, code):
    cfg = SimpleNamespace(encoder="resnet50", resolved_layer="layer4",
                          normalization="imagenet")
    seen = {}

    def train(cfg, out, resume, progress, echo):
        seen.update(out=out, resume=resume, progress=progress)
        return SimpleNamespace(stopped=stopped)

    assert run_stage(_args(tmp_path, quiet=False), SyntheticConfig,
                     lambda given, out, resume: cfg, train) == code
    assert seen == {"out": str(tmp_path), "resume": False, "progress": True}
    err = capsys.readouterr().err
    assert (err == f"next: blindiqa fit-pristine DIR --encoder resnet50 --layer layer4 "
                   f"--normalization imagenet --encoder-checkpoint {tmp_path / 'encoder.pt'} "
                   "--out MODEL\n") == (code == 0)
    assert code == 0 or err == ""


def test_run_stage_reports_a_missing_file(tmp_path, capsys):
    def train(cfg, out, **kwargs):
        raise FileNotFoundError("no training images in x")

    assert run_stage(_args(tmp_path, quiet=True), SyntheticConfig,
                     lambda given, out, resume: None, train) == 1
    assert capsys.readouterr().err == "blindiqa: error: no training images in x\n"
