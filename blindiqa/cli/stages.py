"""What both stages of ``blindiqa train`` share: the run options every stage ends with and
the running of a stage from its parsed options (:mod:`blindiqa.cli.train` and
:mod:`blindiqa.cli.train_authentic` both import them from here, so neither imports the
other back).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options every stage ends with: device, workers, checkpoints, precision, the
    stopping rules, ``--resume`` and ``--quiet``."""
    p.add_argument("--device", choices=("cpu", "cuda"),
                   help="training device (default: cuda when available)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="DataLoader workers per process (default: 0 on cpu, up to 15 on cuda)")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="also checkpoint every N steps (default: 0, at epoch ends only)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: on for cuda)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels-last memory format (default: on for cuda)")
    p.add_argument("--max-minutes", type=float, metavar="M",
                   help="stop cleanly after M minutes (checkpoint and encoder.pt written)")
    p.add_argument("--max-steps", type=int, metavar="N",
                   help="stop cleanly once N steps are done in total")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in RUN_DIR exactly where it stopped")
    p.add_argument("--quiet", action="store_true",
                   help="no progress report or messages (without it, a progress bar on a "
                        "terminal, else a plain progress line every "
                        "$BLINDIQA_PROGRESS_EVERY seconds, default 10)")


def run_stage(args: argparse.Namespace, config_type: type,
              resolve: Callable[[dict[str, Any], str, bool], Any],
              train: Callable[..., Any]) -> int:
    """Run a stage from its parsed options.

    Args:
        args: the parsed command line.
        config_type: the stage's config dataclass (each field is an option).
        resolve: the stage's ``resolve_config(given, out_dir, resume)``.
        train: the stage's ``train_*(cfg, out_dir, resume=, progress=, echo=)``.

    Returns:
        The exit code: 0, or 1 for bad settings or a non-finite loss.
    """
    from blindiqa.cli.common import fail
    from blindiqa.train.settings import option_names

    given = {name: getattr(args, name) for name in option_names(config_type)}
    try:
        cfg = resolve(given, args.out, args.resume)
        result = train(cfg, args.out, resume=args.resume, progress=not args.quiet,
                       echo=(lambda m: None) if args.quiet else None)
    except (ValueError, FileNotFoundError) as exc:
        return fail(str(exc), code=1)
    if result.stopped == "nonfinite":
        return 1
    if not args.quiet:
        print(f"next: {fit_pristine_command(cfg, args.out)}", file=sys.stderr)
    return 0


def fit_pristine_command(cfg: Any, out: str) -> str:
    """The ``blindiqa fit-pristine`` command line that makes a model of a run: its head
    (a head stage's config has no ``encoder``), or its encoder, layer and normalisation."""
    from pathlib import Path

    from blindiqa.train.run import ENCODER_FILE

    if not hasattr(cfg, "encoder"):
        return f"blindiqa fit-pristine DIR --head {out} --out MODEL"
    normalization = getattr(cfg, "resolved_normalization", cfg.normalization)
    return (f"blindiqa fit-pristine DIR --encoder {cfg.encoder} --layer {cfg.resolved_layer} "
            f"--normalization {normalization} --encoder-checkpoint {Path(out) / ENCODER_FILE} "
            "--out MODEL")
