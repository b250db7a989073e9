"""The examples at the end of each command's help are commands the parser accepts."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from blindiqa.cli.main import build_parser


def _commands(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from _commands(sub)


def _example_lines() -> list[tuple[str, str]]:
    found = []
    for name, sub in _commands(build_parser()):
        lines = (sub.epilog or "").splitlines()
        if "examples:" in lines:
            found += [(name, line.strip()) for line in lines[lines.index("examples:") + 1:]]
    return found


def test_several_commands_show_examples():
    assert {name for name, _ in _example_lines()} >= {
        "score", "merge", "rate", "cull", "bench", "demo", "fit-pristine", "fit-scale",
        "models", "report", "completion", "train", "synthetic", "authentic",
        "head-synthetic", "head-authentic", "ablate", "distortions", "sheet"}


@pytest.mark.parametrize(("command", "line"), _example_lines())
def test_every_example_parses(command, line):
    if not line.startswith("blindiqa "):
        return  # e.g. eval "$(blindiqa completion bash)": shell around a command
    argv = shlex.split(re.split(r"\s+(?:>|\||#)\s*", line)[0])[1:]
    if "--help" in argv:
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args(argv)
        assert stop.value.code == 0
        return
    args = build_parser().parse_args(argv)
    assert callable(args.func)
