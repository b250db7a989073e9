"""``blindiqa`` console command: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import sys

from blindiqa.cli import (
    ablate,
    bench,
    bursts,
    completion,
    cull,
    demo,
    distortions,
    fit,
    fit_scale,
    merge,
    models,
    rate,
    report,
    score,
    train,
)
from blindiqa.cli.common import CommandParser, SubCommands, parse_and_run
from blindiqa.runtime import limit_openmp_spinning
from blindiqa.version import __version__

#: The modules of blindiqa.cli providing ``register(subparsers)``, in the order of
#: ``blindiqa --help``; each adds one sub-command whose parser sets ``func(args) -> int``
#: (the exit code). Plain imports, so that the import graph shows every arrow; every
#: module is light (torch-side imports wait inside the command functions).
MODULES = (score, merge, report, models, fit, fit_scale, bench, demo, distortions, train,
           ablate, rate, cull, bursts, completion)
#: Their names.
COMMANDS = tuple(m.__name__.rsplit(".", 1)[1] for m in MODULES)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="blindiqa",
                           description="Completely blind image quality assessment.")

    parser.add_argument("--version", action="version", version=f"blindiqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser,
                                action=SubCommands)
    for module in MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # before anything imports torch: OpenMP's waiting threads spin briefly, then sleep,
    # so a busy core (a decoding worker, another job) does not stall every parallel
    # region (see blindiqa.runtime; a user's own setting is kept)
    limit_openmp_spinning()
    return parse_and_run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
