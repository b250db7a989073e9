"""``blindiqa demo``: score a sample photograph at several distortion strengths and draw a
contact sheet, so a new user sees the tool work with no data of their own."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from blindiqa.cli.common import add_model_options, examples, fail, load_model

if TYPE_CHECKING:
    from PIL import Image


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="score a sample photo at several distortion strengths",
                       description="Distort a sample photograph (scikit-image's 'coffee') at "
                                   "three strengths, score each version and write a contact "
                                   "sheet with the scores.",
                       epilog=examples("blindiqa demo",
                                       "blindiqa demo --model niqe --out demo-niqe"))
    p.add_argument("--out", default="blindiqa-demo", metavar="DIR",
                   help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into DIR even where it holds other files than an earlier "
                        "demo's, replacing the demo's files there (refused otherwise, exit "
                        "code 2; an earlier demo's own output is replaced without it)")
    add_model_options(p)
    p.set_defaults(func=run)


def _tile(im: Image.Image, caption: str, width: int = 260) -> Image.Image:
    from PIL import Image, ImageDraw

    from blindiqa.viz.maps import load_font

    h = round(im.height * width / im.width)
    tile = Image.new("RGB", (width, h + 40), "white")
    tile.paste(im.resize((width, h), Image.LANCZOS), (0, 0))
    ImageDraw.Draw(tile).multiline_text((4, h + 3), caption, fill="black", font=load_font(14))
    return tile


#: What the demo writes: its own earlier output may be replaced without --overwrite.
DEMO_FILES = ("contact_sheet.png", "scores.csv")
DEMO_IMAGES = "images"


def is_demo_output(out: Path) -> bool:
    """Whether the folder ``out`` holds nothing but an earlier demo's output: the contact
    sheet, the score table and an ``images`` folder of PNG files."""
    for entry in out.iterdir():
        if entry.name in DEMO_FILES and entry.is_file():
            continue
        if entry.name == DEMO_IMAGES and entry.is_dir() and all(
                p.is_file() and p.suffix == ".png" for p in entry.iterdir()):
            continue
        return False
    return True


def check_out_dir(out: Path, overwrite: bool, own: bool = False) -> str | None:
    """Why a command may not write into ``out`` (None where it may).

    Args:
        out: the ``--out`` folder.
        overwrite: ``--overwrite`` was given.
        own: a folder holding only the demo's own earlier output may be written into
            (:func:`is_demo_output`).
    """
    if out.exists() and not out.is_dir():
        return f"--out {out} exists and is not a directory"
    if out.is_dir() and not overwrite and any(out.iterdir()) \
            and not (own and is_demo_output(out)):
        return f"--out {out} is not empty; give --overwrite to write into it"
    return None


def run(args: argparse.Namespace) -> int:
    from PIL import Image, ImageDraw

    from blindiqa.distortions.ladder import LADDER, sample_photo
    from blindiqa.viz.maps import load_font

    problem = check_out_dir(Path(args.out), args.overwrite, own=True)
    if problem:
        return fail(problem)
    try:
        photo = sample_photo()
        model = load_model(args.model, args)
    except ValueError as exc:
        return fail(str(exc))
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    ref_score = float(model.score(photo)[0])
    photo.save(out / "images" / "original.png")
    rows: list[tuple[str, str, float]] = [("original", "-", ref_score)]
    grid: list[list[Image.Image]] = []
    for name, levels in LADDER:
        tiles = [_tile(photo, f"original\nscore {ref_score:.3f}")]
        for label, fn in levels:
            im = fn(photo)
            s = float(model.score(im)[0])
            rows.append((name, label, s))
            im.save(out / "images" / f"{name.replace(' ', '_')}_{label.replace(' ', '_')}.png")
            tiles.append(_tile(im, f"{name}, {label}\nscore {s:.3f}"))
        grid.append(tiles)
    tw, th = grid[0][0].size
    sheet = Image.new("RGB", (tw * 4 + 50, th * len(grid) + 40), "white")
    d = ImageDraw.Draw(sheet)
    d.text((10, 10), f"blindiqa demo - model '{model.name}' - lower score = better quality",
           fill="black", font=load_font(18))
    for r, tiles in enumerate(grid):
        for c, t in enumerate(tiles):
            sheet.paste(t, (10 + c * (tw + 10), 40 + r * th))
    sheet.save(out / "contact_sheet.png")
    qualities = ([float(q) for q in model.quality_from_score([s for *_, s in rows])]
                 if model.quality_scale is not None else [None] * len(rows))
    with open(out / "scores.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["distortion", "strength", "score", "quality"])
        w.writerows((*r, "" if q is None else f"{q:.2f}")
                    for r, q in zip(rows, qualities, strict=True))
    print(f"{'distortion':<14} {'strength':<11} {'score':>8}  {'quality':>7}")
    for (name, label, s), q in zip(rows, qualities, strict=True):
        print(f"{name:<14} {label:<11} {s:>8.4f}  {'-' if q is None else f'{q:.1f}':>7}")
    order = "lower" if model.lower_better else "higher"
    print(f"(score: {order} is better; quality: 0-100, higher is better)")
    print(f"wrote {out / 'contact_sheet.png'}", file=sys.stderr)
    return 0
