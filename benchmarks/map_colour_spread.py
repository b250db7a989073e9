"""How map colours spread under the photo scale (old) and the window scale (new).

Usage (from the repository root)::

    python benchmarks/map_colour_spread.py [--models default,contentsep,niqe,ilniqe]
        [--photos 10] [--pristine-every 1] [--pairs DIR]

For each shipped model, the quality maps of ``--photos`` photos of
``../shared/data/unlabeled/imagenet-sample`` (every ``452 // N``-th in name order; the
corpus both scales were fitted on) and of the pristine photos of
``../shared/data/pristine`` (every ``--pristine-every``-th; not in the corpus) are
coloured twice: by the photo scale (a window at the quality a *photo* of that distance
would get; how maps were coloured before the window scale) and by the window scale. The
table gives, over all windows of a set, the share drawn red (local quality below 10) and
dark blue (above 90), the share of photos whose map is mostly red (over half the windows
below 10), the median over photos of the spread of a map (the range between its 10th and
90th percentile of local quality, in quality points), and the mean over photos of the
gap between the map's median local quality and the photo's own quality.

With ``--pairs DIR`` the first three unlabeled photos of the first model are also drawn
as before/after pictures: ``DIR/NAME-before.png`` (photo scale, map over the photo) and
``DIR/NAME-after.png`` (window scale, the photo beside its map).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
UNLABELED = SHARED / "unlabeled" / "imagenet-sample"
PRISTINE = SHARED / "pristine"
MODELS = ("default", "contentsep", "niqe", "ilniqe")


@dataclass
class Spread:
    """Local qualities of the windows of one set of photos, on one scale."""

    qualities: list[np.ndarray] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)

    def add(self, q: np.ndarray, photo_quality: float) -> None:
        q = q[np.isfinite(q)]
        self.qualities.append(q)
        self.gaps.append(abs(float(np.median(q)) - photo_quality))

    def row(self) -> list[str]:
        """Red %, blue %, mostly-red photos %, median 10-90 % spread, mean median gap."""
        every = np.concatenate(self.qualities)
        mostly_red = np.mean([np.mean(q < 10) > 0.5 for q in self.qualities])
        spread = np.median([np.subtract(*np.percentile(q, [90, 10])) for q in self.qualities])
        return [f"{100 * np.mean(every < 10):.1f}", f"{100 * np.mean(every > 90):.1f}",
                f"{100 * mostly_red:.0f}", f"{spread:.0f}", f"{np.mean(self.gaps):.0f}"]


def pick(folder: Path, every: int = 1, count: int | None = None) -> list[str]:
    """Image files under ``folder`` in name order: every ``every``-th, or ``count`` evenly
    spaced ones."""
    from blindiqa.io.files import iter_image_files

    items = sorted(str(path) for path, _ in iter_image_files([str(folder)], full_names=True))
    if count is not None:
        every = max(1, len(items) // count)
        return items[::every][:count]
    return items[::every]


def measure(name: str, sets: dict[str, list[str]], pairs: Path | None) -> list[list[str]]:
    """Table rows of one model: one per set."""
    import blindiqa
    from blindiqa.io.files import iter_image_files
    from blindiqa.scoring import score_files

    model = blindiqa.load(name)
    photo, windows = model.quality_scale, model.window_scale
    if photo is None or windows is None:
        raise SystemExit(f"{name} has no photo or window scale")
    rows = []
    for label, files in sets.items():
        old, new = Spread(), Spread()
        items = list(iter_image_files(files, full_names=True))
        for i, rec in enumerate(score_files(model, items, workers=1, with_maps=True)):
            if rec.score is None:
                print(f"{name}: {rec.name} failed: {rec.error}", file=sys.stderr)
                continue
            quality = float(photo(rec.score))
            old.add(photo(rec.quality_map), quality)
            new.add(windows(rec.quality_map), quality)
            if pairs is not None and label == "unlabeled" and i < 3:
                draw_pair(rec, photo, windows, pairs)
        rows.append([name, f"{label} ({len(old.qualities)})", *old.row(), *new.row()])
    return rows


def draw_pair(rec, photo, windows, out: Path) -> None:
    """The before (photo scale, overlay) and after (window scale, beside) pictures."""
    from blindiqa.viz import render_quality_map

    out.mkdir(parents=True, exist_ok=True)
    stem = Path(rec.name).stem
    render_quality_map(rec.image, rec.quality_map, score=rec.score, scale=photo).save(
        out / f"{stem}-before.png")
    render_quality_map(rec.image, rec.quality_map, score=rec.score, scale=photo,
                       window_scale=windows, beside=True).save(out / f"{stem}-after.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    parser.add_argument("--photos", type=int, default=10,
                        help="unlabeled photos (default: %(default)s)")
    parser.add_argument("--pristine-every", type=int, default=1, metavar="K",
                        help="every K-th pristine photo (default: all)")
    parser.add_argument("--pairs", type=Path, help="write before/after pictures here")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    sets = {"unlabeled": pick(UNLABELED, count=args.photos),
            "pristine": pick(PRISTINE, every=args.pristine_every)}
    head = ["model", "photos"] + [f"{what} ({when})" for when in ("old", "new") for what in (
        "red %", "blue %", "mostly red %", "spread", "median gap")]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head), flush=True)
    for k, name in enumerate(args.models.split(",")):
        for row in measure(name, sets, args.pairs if k == 0 else None):
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
