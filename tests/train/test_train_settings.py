"""Resume rules come from the config dataclasses' fields (the command-line options that
come from them: tests/cli/test_train.py and test_stages.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

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
