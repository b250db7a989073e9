"""``blindiqa completion SHELL``: a shell completion script generated from the parser
(with shtab, the extra ``blindiqa[shell]``)."""

from __future__ import annotations

import argparse
import sys
from functools import partial

from blindiqa.cli.common import examples, fail

SHELLS = ("bash", "zsh", "tcsh")

EPILOG = examples(
    "blindiqa completion bash > ~/.local/share/bash-completion/completions/blindiqa",
    "blindiqa completion zsh > ~/.zfunc/_blindiqa   # with fpath+=~/.zfunc before compinit",
    'eval "$(blindiqa completion bash)"            # this shell only')


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a shell completion script",
                       description="Print a completion script for SHELL, generated from "
                                   "blindiqa's own parser: commands, options and their "
                                   "choices complete with TAB, and file arguments "
                                   "complete as files.",
                       epilog=EPILOG)
    p.add_argument("shell", choices=SHELLS, help="the shell to write the script for")
    p.set_defaults(func=partial(run, sub))


def root_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """A parser named ``blindiqa`` whose sub-commands are ``commands`` (the action
    :func:`register` was given), without importing the module that built it."""
    root = argparse.ArgumentParser(prog="blindiqa",
                                   description="Completely blind image quality assessment.")
    root.add_argument("--version", action="store_true", help="print the version")
    root._subparsers = root._positionals
    root._add_action(commands)
    return root


def run(commands: argparse._SubParsersAction, args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        return fail("shell completion needs shtab: pip install 'blindiqa[shell]'")
    for chosen in commands.choices.values():  # train stages add their options lazily
        populate = getattr(chosen, "populate", None)
        if callable(populate):
            populate()
    sys.stdout.write(shtab.complete(root_parser(commands), shell=args.shell))
    return 0
