"""What both stages of ``blindiqa train`` share: the run options every stage ends with and
the running of a stage from its parsed options (:mod:`blindiqa.cli.train` and
:mod:`blindiqa.cli.train_authentic` both import them from here, so neither imports the
other back).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blindiqa.cli.common import fail


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options every stage ends with: one flag per field of
    :class:`blindiqa.train.settings.RunOptions` (device, workers, checkpoints, precision,
    the stopping rules), its help, metavar and choices read from the field's metadata;
    then ``--resume`` and ``--quiet``. Every flag defaults to None ("not given"), so that
    a resumed run's saved settings apply (:func:`~blindiqa.train.settings.merge_with_saved`).
    """
    from blindiqa.train.settings import CHOICES_KEY, HELP_KEY, METAVAR_KEY, RunOptions

    for f in dataclasses.fields(RunOptions):
        flag, kind = "--" + f.name.replace("_", "-"), str(f.type)
        meta = f.metadata
        if kind.startswith("bool"):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                           help=meta[HELP_KEY])
        elif meta.get(CHOICES_KEY):
            p.add_argument(flag, choices=meta[CHOICES_KEY], help=meta[HELP_KEY])
        else:
            convert = next((t for t in (int, float) if kind.startswith(t.__name__)), str)
            p.add_argument(flag, type=convert, metavar=meta.get(METAVAR_KEY),
                           help=meta[HELP_KEY])
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
    from blindiqa.train.run import ENCODER_FILE

    if not hasattr(cfg, "encoder"):
        return f"blindiqa fit-pristine DIR --head {out} --out MODEL"
    normalization = getattr(cfg, "resolved_normalization", cfg.normalization)
    return (f"blindiqa fit-pristine DIR --encoder {cfg.encoder} --layer {cfg.resolved_layer} "
            f"--normalization {normalization} --encoder-checkpoint {Path(out) / ENCODER_FILE} "
            "--out MODEL")
