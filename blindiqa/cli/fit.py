"""``blindiqa fit-pristine``: build a model bundle from pristine images."""

from __future__ import annotations

import argparse
import sys

from blindiqa.cli.common import fail, show_progress
from blindiqa.encoders import NORMALIZATIONS, list_encoders


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-pristine", help="fit the pristine model on clean images",
        description="Fit the pristine Gaussian of a model on clean, sharp images and write a "
                    "model bundle (usable with `blindiqa score --model FILE`).")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders (recursive) or images")
    p.add_argument("--out", required=True, metavar="MODEL_FILE",
                   help="the bundle to write (.safetensors)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="fit a classical model instead (niqe, ilniqe)")
    p.add_argument("--encoder", choices=[e.name for e in list_encoders()],
                   default="efficientnet_lite0", help="feature encoder (default: %(default)s)")
    p.add_argument("--layer", action="append", metavar="NAME",
                   help="feature layer(s), repeatable (default: the encoder's default layer)")
    p.add_argument("--normalization", choices=sorted(NORMALIZATIONS), default="none",
                   help="input normalisation (default: %(default)s)")
    p.add_argument("--encoder-checkpoint", metavar="FILE",
                   help="encoder weights (a state dict or training checkpoint) instead of the "
                        "ImageNet weights; they are stored in the bundle")
    p.add_argument("--patch-size", type=int, default=96)
    p.add_argument("--stride", type=int, default=48)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blindiqa.models.bundle import save_bundle
    from blindiqa.models.registry import get_entry

    try:
        if args.model is not None:
            entry = get_entry(args.model)
            if entry.fit is None:
                return fail(f"model {args.model!r} cannot be fitted with fit-pristine")
            entry.fit(args.dirs, args.out, progress=show_progress(args))
        else:
            from blindiqa.encoders import get_encoder_spec
            from blindiqa.models.fit import fit_pristine
            from blindiqa.models.gaussian_model import FeatureConfig

            if args.patch_size < 32 or args.stride < 1:
                return fail("--patch-size must be at least 32 and --stride at least 1")
            spec = get_encoder_spec(args.encoder)
            weights = "pretrained" if spec.weights_package else "random"
            if weights == "random" and not args.encoder_checkpoint:
                return fail(f"{args.encoder} has no pretrained weights: give "
                            "--encoder-checkpoint")
            cfg = FeatureConfig(encoder=args.encoder,
                                layers=tuple(args.layer or [spec.default_layer]),
                                normalization=args.normalization, weights=weights,
                                patch_size=args.patch_size, stride=args.stride)
            model = fit_pristine(args.dirs, cfg, checkpoint_path=args.encoder_checkpoint,
                                 progress=show_progress(args))
            tensors, meta = model.bundle_contents()
            save_bundle(args.out, tensors, meta)
            prov = model.provenance
            if not args.quiet:
                print(f"fitted on {prov['patches']} patches of {prov['images']} images; "
                      f"wrote {args.out}", file=sys.stderr)
    except ValueError as exc:
        return fail(str(exc), code=1)
    return 0
