"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import sys

from blindiqa.models.base import QualityModel


def _int_at_least(text: str, minimum: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{rule}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "must be at least 1")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "must be 0 or more")


def add_model_options(parser: argparse.ArgumentParser, multiple: bool = False) -> None:
    """``--model NAME|FILE``, ``--params FILE``, ``--device``."""
    if multiple:
        parser.add_argument("--model", action="append", required=True, metavar="NAME|FILE",
                            help="a registered model (see `blindiqa models`) or a model "
                                 "file; repeat for several")
    else:
        parser.add_argument("--model", default="default", metavar="NAME|FILE",
                            help="a registered model (see `blindiqa models`) or a model file "
                                 "(default: %(default)s)")
    parser.add_argument("--params", metavar="FILE",
                        help="parameter file for niqe / ilniqe (official .npz/.mat or ours)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where to run the encoder (default: %(default)s)")
    parser.add_argument("--max-side", type=non_negative_int, default=None, metavar="PX",
                        help="one-pass models: scale images whose long side exceeds PX "
                             "down to it before scoring; 0 = native resolution (default: "
                             "the model's own setting, see `blindiqa models`)")


def load_model(name: str, args: argparse.Namespace) -> QualityModel:
    """Load a model named on the command line; ``ValueError`` says what is wrong."""
    from blindiqa.models.load import load

    options = {"params": args.params} if getattr(args, "params", None) else {}
    if getattr(args, "max_side", None) is not None:
        options["max_side"] = args.max_side
    return load(name, device=args.device, **options)


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar only on a terminal and without ``--quiet``."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def fail(message: str, code: int = 2) -> int:
    print(f"blindiqa: error: {message}", file=sys.stderr)
    return code
