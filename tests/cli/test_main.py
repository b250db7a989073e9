"""``blindiqa`` itself (``blindiqa.cli.main``): its version, the command list, no command
(the light start-up: test_startup.py; the help's examples: test_examples.py)."""

from __future__ import annotations

import argparse

import pytest

from blindiqa.cli.main import COMMANDS, MODULES, build_parser, main
from blindiqa.version import __version__


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"blindiqa {__version__}\n"


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: blindiqa") and "Completely blind image quality" in err


def test_one_sub_command_per_module_in_the_order_of_the_list():
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    names = list(sub.choices)
    assert len(names) == len(MODULES) == len(COMMANDS)
    # each module's name is its command's, with - for _ (fit registers fit-pristine)
    assert [n.replace("-", "_") for n in names] == [
        "fit_pristine" if c == "fit" else c for c in COMMANDS]
    listed = [line.split()[0] for line in build_parser().format_help().splitlines()
              if line.startswith("    ") and line.split()[0] in names]
    assert listed == names  # blindiqa --help lists them in this order
