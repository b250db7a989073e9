"""``blindiqa distortions``: the 25 KADID-10k distortion types.

``blindiqa distortions list`` prints every type with its level parameters;
``blindiqa distortions sheet IMAGE --out sheet.png [--seed N] [--size N]`` draws all types
x levels on one image as a contact sheet.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from blindiqa.cli.common import examples


def register(subparsers: Any) -> None:
    """Add the ``distortions`` sub-command to ``subparsers`` (from ``add_subparsers``)."""
    parser = subparsers.add_parser(
        "distortions",
        help="the 25 KADID-10k distortion types x 5 levels",
        description="The 25 KADID-10k distortion types (Lin, Hosu, Saupe, QoMEX 2019), "
                    "5 levels each, as used for synthetic pre-training.",
        epilog=examples("blindiqa distortions list",
                        "blindiqa distortions sheet photo.jpg --out sheet.png",
                        "blindiqa distortions sheet photo.jpg --size 128 --seed 1 "
                        "--no-reference --out small.png"),
    )
    parser.set_defaults(func=run, distortions_action=None, _distortions_parser=parser)
    actions = parser.add_subparsers(dest="distortions_action", metavar="ACTION")

    sheet = actions.add_parser(
        "sheet",
        help="draw every type at every level on one image (PNG contact sheet)",
        description="Draw every distortion type (rows) at levels 1..5 (columns) on IMAGE, "
                    "centre-cropped to 4:3 and resized to --size pixels wide.",
        epilog=examples("blindiqa distortions sheet photo.jpg --out sheet.png",
                        "blindiqa distortions sheet photo.jpg --size 128 --seed 1 "
                        "--out small.png"),
    )
    sheet.add_argument("image", metavar="IMAGE", help="any image file Pillow can read")
    sheet.add_argument("--out", default="sheet.png", help="PNG to write (default: sheet.png)")
    sheet.add_argument("--seed", type=int, default=0,
                       help="seed of the random draws (default: 0)")
    sheet.add_argument("--size", type=int, default=256,
                       help="width of one tile in pixels, >= 64 (default: 256)")
    sheet.add_argument("--no-reference", action="store_true",
                       help="leave out the column with the undistorted image")
    sheet.set_defaults(func=run)

    listing = actions.add_parser("list", help="list the types and their level parameters")
    listing.set_defaults(func=run)


def _run_sheet(args: argparse.Namespace) -> int:
    import torch

    from blindiqa.distortions import make_sheet
    from blindiqa.io.decode import ImageDecodeError, decode_image

    if args.size < 64:
        print(f"error: --size must be >= 64, got {args.size}", file=sys.stderr)
        return 2
    try:
        image = decode_image(args.image)
    except ImageDecodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    generator = torch.Generator().manual_seed(args.seed)
    try:
        path = make_sheet(image, args.out, generator=generator, tile=args.size,
                          reference=not args.no_reference)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _run_list() -> int:
    from blindiqa.distortions import DISTORTIONS

    for d in DISTORTIONS:
        levels = ", ".join(str(v) for v in d.levels)
        print(f"{d.kadid_id:2d}  {d.name:28s} {d.family:12s} {d.param}: {levels}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``blindiqa distortions ACTION``; returns the exit code."""
    action = getattr(args, "distortions_action", None)
    if action == "sheet":
        return _run_sheet(args)
    if action == "list":
        return _run_list()
    parser = getattr(args, "_distortions_parser", None)
    if parser is not None:
        parser.print_help(sys.stderr)
    return 2
