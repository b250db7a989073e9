"""``blindiqa`` console command: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys

from blindiqa.cli.common import CommandParser, SubCommands, parse_and_run
from blindiqa.runtime import limit_openmp_spinning

#: Modules of blindiqa.cli providing ``register(subparsers)``; each adds one sub-command
#: whose parser sets ``func(args) -> int`` (the exit code).
COMMANDS = ("score", "merge", "report", "models", "fit", "fit_scale", "bench", "demo",
            "distortions", "train", "ablate", "rate", "cull", "bursts", "completion")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="blindiqa",
                           description="Completely blind image quality assessment.")
    from blindiqa.version import __version__

    parser.add_argument("--version", action="version", version=f"blindiqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser,
                                action=SubCommands)
    for name in COMMANDS:
        importlib.import_module(f"blindiqa.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # before anything imports torch: OpenMP's waiting threads spin briefly, then sleep,
    # so a busy core (a decoding worker, another job) does not stall every parallel
    # region (see blindiqa.runtime; a user's own setting is kept)
    limit_openmp_spinning()
    return parse_and_run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
