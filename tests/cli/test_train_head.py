"""``blindiqa train head-synthetic`` and ``head-authentic`` (``blindiqa.cli.train_head``):
every field of a head config is an option, the options reach the stage, the next command
makes a model of the head, bad usage."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import blindiqa.train.head as head
from blindiqa.cli.main import build_parser, main
from blindiqa.train.settings import option_names


@pytest.mark.parametrize(("stage", "config_type"), [
    ("head-synthetic", head.HeadSyntheticConfig), ("head-authentic", head.HeadAuthenticConfig)])
def test_every_head_config_field_is_an_option(stage, config_type, tmp_path):
    args = build_parser().parse_args(["train", stage, "--out", str(tmp_path)])
    for name in option_names(config_type):
        assert getattr(args, name) is None, name  # an option, not given


@pytest.mark.parametrize(("stage", "trainer", "config_type", "extra", "expected"), [
    ("head-synthetic", "train_head_synthetic", head.HeadSyntheticConfig,
     ["--types", "4", "--objective", "ranking"], {"types": 4, "objective": "ranking"}),
    ("head-authentic", "train_head_authentic", head.HeadAuthenticConfig,
     ["--mi", "none", "--selftrain-weight", "0.5"], {"mi": "none", "selftrain_weight": 0.5})])
def test_options_reach_the_head_stage(stage, trainer, config_type, extra, expected, tmp_path,
                                      monkeypatch, capsys):
    seen = []

    def train(cfg, out, resume, progress, echo):
        seen.append((cfg, out, resume))
        return SimpleNamespace(stopped="max_steps")

    monkeypatch.setattr(head, trainer, train)
    out = str(tmp_path / "run")
    assert main(["train", stage, "--images", "photos", "--out", out, "--kind", "mlp",
                 "--epochs", "2", "--device", "cpu", *extra]) == 0
    ((cfg, given_out, resume),) = seen
    assert type(cfg) is config_type and given_out == out and not resume
    assert cfg.images == ["photos"] and cfg.kind == "mlp" and cfg.epochs == 2
    assert {name: getattr(cfg, name) for name in expected} == expected
    assert capsys.readouterr().err == (
        f"next: blindiqa fit-pristine DIR --head {out} --out MODEL\n")


def test_usage_errors(tmp_path, capsys):
    for argv in (["train", "head-synthetic", "--images", "x"],  # --out is required
                 ["train", "head-synthetic", "--out", str(tmp_path), "--kind", "bogus"],
                 ["train", "head-authentic", "--out", str(tmp_path), "--mi", "bogus"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2 and "error:" in capsys.readouterr().err
