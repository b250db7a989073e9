"""``blindiqa`` console command: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

#: Modules of blindiqa.cli providing ``register(subparsers)``; each adds one sub-command
#: whose parser sets ``func(args) -> int`` (the exit code).
COMMANDS = ("score", "models", "fit", "fit_scale", "bench", "demo", "distortions", "train",
            "ablate", "report")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # bad usage: exit code 2 with the usage line
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="blindiqa",
                     description="Completely blind image quality assessment.")
    from blindiqa import __version__

    parser.add_argument("--version", action="version", version=f"blindiqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"blindiqa.cli.{name}").register(sub)
    return parser


def _parse_and_run(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv`` and run the chosen sub-command; its exit code."""
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    return _parse_and_run(build_parser(), argv)


def run_command(name: str, register: Callable[[Any], None],
                argv: list[str] | None = None) -> int:
    """``python -m blindiqa.cli.NAME ...``, the same as ``blindiqa NAME ...``.

    Args:
        name: the sub-command that ``register`` adds.
        register: the module's ``register(subparsers)``.
        argv: the arguments after the sub-command (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = _Parser(prog="blindiqa")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    register(sub)
    return _parse_and_run(parser, [name, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
