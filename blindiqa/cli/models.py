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
    infos = [e.info for e in list_models()]
    w = max(len(i.name) for i in infos)
    print(f"{'name':<{w}}  lower_better  features  weights")
    for i in infos:
        print(f"{i.name:<{w}}  {str(i.lower_better):<12}  {i.feature_dim:<8}  {i.weights}")
    return 0
