"""``blindiqa models``: list the registered scorers."""

from __future__ import annotations

import argparse

from blindiqa.cli.common import examples
from blindiqa.models.registry import list_models


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the available models",
                       description="List the registered models: name, whether lower scores "
                                   "are better, feature size, where the weights come from.",
                       epilog=examples("blindiqa models"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    entries = list_models()
    w = max(len(e.name) for e in entries)
    print(f"{'name':<{w}}  lower_better  features  weights")
    for e in entries:
        print(f"{e.name:<{w}}  {str(e.lower_better):<12}  {e.feature_dim:<8}  {e.weights}")
    return 0
