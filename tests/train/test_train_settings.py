"""Resume rules and CLI options come from the config dataclasses' fields."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field

import pytest

from blindiqa.cli import train as train_cli
from blindiqa.train.authentic import AuthenticConfig
from blindiqa.train.settings import (
    FRESH,
    INHERITED,
    fixed_fields,
    inherited_fields,
    option_names,
    resume_rule,
)
from blindiqa.train.synthetic import SyntheticConfig

#: The resume rules as the trainers used to list them by hand.
RUN_OPTIONS = ("images", "epochs", "device", "workers", "checkpoint_every", "amp",
               "channels_last")
SYNTHETIC_FIXED = ("encoder", "init", "layer", "objective", "steps_per_epoch",
                   "scenes_per_batch", "k", "crop", "work_size", "views", "lr",
                   "weight_decay", "schedule", "tau", "normalization", "seed", "distort_on")
AUTHENTIC_FIXED = ("init", "encoder", "layer", "normalization", "freeze", "mi", "mi_weight",
                   "mi_start_epoch", "q_lr", "q_weight_decay", "q_loglik_weight", "q_hidden",
                   "content_network", "crop_size", "steps_per_epoch", "batch_images", "lr",
                   "predictor_lr", "weight_decay", "schedule", "seed", "limit_images")


@pytest.mark.parametrize("config_type,fixed", [(SyntheticConfig, SYNTHETIC_FIXED),
                                               (AuthenticConfig, AUTHENTIC_FIXED)])
def test_resume_rules_of_the_stages(config_type, fixed):
    assert fixed_fields(config_type) == fixed
    assert set(inherited_fields(config_type)) == {*fixed, *RUN_OPTIONS}
    fresh = set(option_names(config_type)) - set(inherited_fields(config_type))
    assert fresh == {"max_minutes", "max_steps"}  # the stopping rules


def test_rules_from_metadata():
    @dataclass
    class Config:
        a: int = 0
        b: int = field(default=0, metadata=INHERITED)
        c: int = field(default=0, metadata=FRESH)
        d: int = field(default=0, metadata={"resume": "sometimes"})

    assert option_names(Config) == ("a", "b", "c", "d")
    rules = [resume_rule(f) for f in dataclasses.fields(Config)[:3]]
    assert rules == ["fixed", "inherited", "fresh"]
    with pytest.raises(ValueError, match="resume rule"):
        fixed_fields(Config)


@pytest.mark.parametrize("stage,config_type", [("synthetic", SyntheticConfig),
                                               ("authentic", AuthenticConfig)])
def test_every_config_field_is_a_cli_option(stage, config_type, tmp_path):
    parser = argparse.ArgumentParser(prog="blindiqa")
    train_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", stage, "--out", str(tmp_path)])
    for name in option_names(config_type):
        assert getattr(args, name) is None, name  # an option, not given


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
