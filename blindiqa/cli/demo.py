"""``blindiqa demo``: score a sample photograph at several distortion strengths and draw a
contact sheet, so a new user sees the tool work with no data of their own."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from blindiqa.cli.common import add_model_options, fail, load_model

if TYPE_CHECKING:
    from PIL import Image


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="score a sample photo at several distortion strengths",
                       description="Distort a sample photograph (scikit-image's 'coffee') at "
                                   "three strengths, score each version and write a contact "
                                   "sheet with the scores.")
    p.add_argument("--out", default="blindiqa-demo", metavar="DIR",
                   help="output folder (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into DIR even where it is not empty, replacing the demo's "
                        "files there (refused otherwise, exit code 2)")
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


def check_out_dir(out: Path, overwrite: bool) -> str | None:
    """Why the demo may not write into ``out`` (None where it may).

    Args:
        out: the ``--out`` folder.
        overwrite: ``--overwrite`` was given.
    """
    if out.exists() and not out.is_dir():
        return f"--out {out} exists and is not a directory"
    if out.is_dir() and not overwrite and any(out.iterdir()):
        return f"--out {out} is not empty; give --overwrite to write into it"
    return None


def run(args: argparse.Namespace) -> int:
    from PIL import Image, ImageDraw

    from blindiqa.distortions.ladder import LADDER, sample_photo
    from blindiqa.viz.maps import load_font

    problem = check_out_dir(Path(args.out), args.overwrite)
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
    rows = [("original", "-", ref_score)]
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
    with open(out / "scores.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["distortion", "strength", "score"])
        w.writerows(rows)
    for name, label, s in rows:
        print(f"{name:<14} {label:<11} {s:.4f}")
    print(f"wrote {out / 'contact_sheet.png'}", file=sys.stderr)
    return 0
