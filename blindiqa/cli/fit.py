"""``blindiqa fit-pristine``: build a model bundle from pristine images."""

from __future__ import annotations

import argparse
import pickle
import re
import sys
import warnings
from dataclasses import replace
from pathlib import Path

from blindiqa.cli.choices import (
    ENCODERS,
    NORMALIZATIONS,
    ONE_PASS_DEFAULTS,
    PATCH_SIZE,
    PATCH_STRIDE,
)
from blindiqa.cli.common import (
    add_quiet_option,
    examples,
    fail,
    non_negative_int,
    positive_int,
    show_progress,
)
from blindiqa.models.registry import get_entry


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-pristine", help="fit the pristine model on clean images",
        description="Fit the pristine Gaussian of a model on clean, sharp images and write a "
                    "model bundle (usable with `blindiqa score --model FILE`).",
        epilog=examples("blindiqa fit-pristine pristine/ --out my_model.safetensors",
                        "blindiqa fit-pristine pristine/ --encoder efficientnet_lite0 "
                        "--out lite0.safetensors",
                        "blindiqa score photos/ --model my_model.safetensors"))
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders (recursive) or images")
    p.add_argument("--out", required=True, metavar="MODEL_FILE",
                   help="the bundle to write (.safetensors); written to a temporary file "
                        "renamed into place, so it is never left half-written")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing MODEL_FILE (refused otherwise, exit code 2)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="fit a classical model instead (niqe, ilniqe)")
    p.add_argument("--engine", choices=["one-pass", "crops"], default="one-pass",
                   help="one-pass: the encoder runs once over the whole image and windows "
                        "of its feature maps are the patches (the shipped default's engine); "
                        f"crops: each {PATCH_SIZE}-px crop goes through the encoder (the paper's "
                        "formulation, the `contentsep` model) (default: %(default)s)")
    p.add_argument("--encoder", choices=ENCODERS,
                   default=ONE_PASS_DEFAULTS.encoder, help="feature encoder (default: %(default)s)")
    p.add_argument("--layer", action="append", metavar="NAME",
                   help="feature layer(s), repeatable (default: the shipped default's taps "
                        f"{'+'.join(ONE_PASS_DEFAULTS.taps)} for efficientnet_lite*, else the "
                        "encoder's default layer)")
    p.add_argument("--normalization", choices=NORMALIZATIONS,
                   help="input normalisation (default: the one the encoder's pretrained "
                        "weights expect: imagenet, or inception for inception_v3_fid)")
    p.add_argument("--encoder-checkpoint", metavar="FILE",
                   help="encoder weights (a state dict or training checkpoint) instead of the "
                        "ImageNet weights; they are stored in the bundle. Read with "
                        "torch.load(weights_only=True): a file holding anything but tensors "
                        "is refused, never executed")
    p.add_argument("--head", metavar="RUN_DIR",
                   help="one-pass: a quality head trained by `blindiqa train head-synthetic` "
                        "or `head-authentic`; the distance is computed in its space, with the "
                        "engine settings it was trained on (stored in the bundle)")
    p.add_argument("--window", type=positive_int, default=None, metavar="CELLS",
                   help="one-pass: smallest window side in grid cells of "
                        f"{ONE_PASS_DEFAULTS.grid_stride} px (default: {ONE_PASS_DEFAULTS.window})")
    p.add_argument("--window-stride", type=positive_int, default=None, metavar="CELLS",
                   help=f"one-pass: step between windows (default: "
                        f"{ONE_PASS_DEFAULTS.window_stride})")
    p.add_argument("--max-side", type=non_negative_int, default=None, metavar="PX",
                   help="one-pass: images are scaled down to this long side before "
                        f"fitting and scoring; 0 = native (default: {ONE_PASS_DEFAULTS.max_side})")
    p.add_argument("--patch-size", type=int, default=None, metavar="PX",
                   help=f"crops: patch side in pixels (default: {PATCH_SIZE})")
    p.add_argument("--stride", type=int, default=None, metavar="PX",
                   help=f"crops: stride between patches when scoring (default: {PATCH_STRIDE})")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where to run the encoder (default: %(default)s)")
    add_quiet_option(p)
    p.set_defaults(func=run)


def check_checkpoint(encoder: str, path: str) -> str | None:
    """Why ``path`` cannot serve as ``--encoder-checkpoint`` of ``encoder`` (None if it can).

    The file is read with ``torch.load(weights_only=True)``: a pickle that would run code
    (or hold any object but tensors and plain containers) is refused without running
    it; random bytes, a truncated file or weights of another network are refused too.
    """
    from blindiqa.encoders import create_network
    from blindiqa.models.bundle import one_line

    p = Path(path)
    if not p.is_file():
        return f"--encoder-checkpoint {path}: " + ("not a file" if p.exists() else
                                                   "no such file")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: noise here
            warnings.simplefilter("ignore")
            create_network(encoder, checkpoint_path=path)
    except pickle.UnpicklingError as exc:
        found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n\n|$)", str(exc), re.S)
        detail = " ".join(found.group(1).split()) if found else one_line(exc, limit=120)
        return (f"--encoder-checkpoint {path} refused: not a plain tensor checkpoint, so it "
                f"is not loaded (torch.load(weights_only=True) stopped at: {detail})")
    except Exception as exc:  # any failure to read an untrusted file: refuse it
        detail = one_line(exc, limit=160)
        return (f"--encoder-checkpoint {path} is not a usable {encoder} checkpoint "
                f"({type(exc).__name__}{': ' + detail if detail else ''})")
    return None


def run(args: argparse.Namespace) -> int:
    from blindiqa.models.bundle import save_bundle

    out = Path(args.out)
    if out.is_dir():
        return fail(f"--out {args.out} is a directory; give a file name (.safetensors)")
    if out.exists() and not args.overwrite:
        return fail(f"--out {args.out} exists; give --overwrite to replace it")
    try:
        if args.model is not None:
            entry = get_entry(args.model)
            if entry.fit is None:
                return fail(f"model {args.model!r} cannot be fitted with fit-pristine")
            entry.fit(args.dirs, args.out, progress=show_progress(args))
        else:
            from blindiqa.encoders import get_encoder_spec
            from blindiqa.models.fit import fitted_count

            spec = get_encoder_spec(args.encoder)
            if args.normalization is None:
                args.normalization = spec.normalization
            weights = "pretrained" if spec.weights_package else "random"
            if weights == "random" and not args.encoder_checkpoint:
                return fail(f"{args.encoder} has no pretrained weights: give "
                            "--encoder-checkpoint")
            problem = _engine_options_problem(args)
            if problem:
                return fail(problem)
            if args.encoder_checkpoint:
                problem = check_checkpoint(args.encoder, args.encoder_checkpoint)
                if problem:
                    return fail(problem)
            if args.head is not None:
                model = _fit_head(args)
            else:
                model = (_fit_crops(args, spec, weights) if args.engine == "crops"
                         else _fit_one_pass(args, spec, weights))
            tensors, meta = model.bundle_contents()
            save_bundle(args.out, tensors, meta)
            prov = model.provenance
            if not args.quiet:
                print(f"fitted on {fitted_count(prov)} of {prov['images']} images; "
                      f"wrote {args.out}", file=sys.stderr)
    except ValueError as exc:
        return fail(str(exc), code=1)
    except OSError as exc:
        return fail(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}")
    return 0


def _engine_options_problem(args: argparse.Namespace) -> str | None:
    """Why the geometry options do not fit ``--engine`` (None where they do)."""
    if args.head is not None and (args.engine == "crops" or args.encoder_checkpoint
                                  or args.layer or args.window or args.window_stride):
        return "--head uses the one-pass engine with the encoder, taps and windows it was " \
               "trained on: it takes no --engine crops, --encoder-checkpoint, --layer, " \
               "--window or --window-stride"
    if args.engine == "one-pass":
        if args.patch_size is not None or args.stride is not None:
            return "--patch-size and --stride apply to --engine crops; the one-pass engine " \
                   "takes --window and --window-stride (in grid cells)"
        return None
    if any(v is not None for v in (args.window, args.window_stride, args.max_side)):
        return "--window, --window-stride and --max-side apply to --engine one-pass"
    from blindiqa.crops import MIN_PATCH_SIZE, patch_geometry_ok

    size = PATCH_SIZE if args.patch_size is None else args.patch_size
    stride = PATCH_STRIDE if args.stride is None else args.stride
    if not patch_geometry_ok(size, stride):
        return f"--patch-size must be at least {MIN_PATCH_SIZE} and --stride at least 1"
    return None


def _taps(args: argparse.Namespace, spec) -> tuple[str, ...]:
    if args.layer:
        return tuple(args.layer)
    if args.encoder.startswith("efficientnet_lite"):
        return ONE_PASS_DEFAULTS.taps
    return (spec.default_layer,)


def _fit_one_pass(args: argparse.Namespace, spec, weights: str):
    from blindiqa.models.fit import fit_one_pass
    from blindiqa.onepass import OnePassConfig

    cfg = replace(OnePassConfig(), encoder=args.encoder, taps=_taps(args, spec),
                  normalization=args.normalization, weights=weights)
    for field, value in (("window", args.window), ("window_stride", args.window_stride),
                         ("max_side", args.max_side)):
        if value is not None:
            cfg = replace(cfg, **{field: value})
    return fit_one_pass(args.dirs, cfg, checkpoint_path=args.encoder_checkpoint,
                        progress=show_progress(args))


def _fit_head(args: argparse.Namespace):
    from blindiqa.models.fit import fit_one_pass
    from blindiqa.train.head import load_head

    head, cfg = load_head(args.head)
    if args.max_side is not None:
        cfg = replace(cfg, max_side=args.max_side)
    model = fit_one_pass(args.dirs, cfg, progress=show_progress(args), head=head)
    model.provenance["head_run"] = str(args.head)
    return model


def _fit_crops(args: argparse.Namespace, spec, weights: str):
    from blindiqa.models.crops import CropsConfig
    from blindiqa.models.fit import fit_crops

    cfg = CropsConfig(encoder=args.encoder,
                      layers=tuple(args.layer or [spec.default_layer]),
                      normalization=args.normalization, weights=weights,
                      patch_size=PATCH_SIZE if args.patch_size is None else args.patch_size,
                      stride=PATCH_STRIDE if args.stride is None else args.stride)
    return fit_crops(args.dirs, cfg, checkpoint_path=args.encoder_checkpoint,
                     progress=show_progress(args))
