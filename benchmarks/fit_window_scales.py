"""Give the shipped bundles their window scale (the colours of the quality maps).

Usage (from the repository root)::

    python benchmarks/fit_window_scales.py [--models default,contentsep,niqe,ilniqe]
        [--reference DIR] [--cache DIR]

Each shipped model computes the quality map of every photo of the corpus its photo
scale was fitted on (``../shared/data/unlabeled/imagenet-sample``, 452 photos), and the
evenly spaced quantiles of all those window distances are added to
``blindiqa/weights/NAME.safetensors`` (tensor ``quality_scale.windows``, metadata
``window_scale``). Every other tensor and metadata entry, the photo scale included, is
written back unchanged, so scores and qualities do not change (``blindiqa fit-scale``
would refit the photo scale too).

The maps come from the same scoring path as ``blindiqa score --maps`` (one torch
thread). With ``--cache DIR`` each model's maps are kept in ``DIR/NAME.npz`` and read
back by a later run instead of being computed again (IL-NIQE takes about 2 s a photo).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "data" / "unlabeled" / "imagenet-sample"
WEIGHTS = REPO / "blindiqa" / "weights"
MODELS = ("default", "contentsep", "niqe", "ilniqe")


def window_maps(name: str, reference: Path, cache: Path | None) -> tuple[np.ndarray,
                                                                        list[np.ndarray]]:
    """Each reference photo's score (map pass) and flattened quality map under ``name``.

    Args:
        name: a shipped model.
        reference: the folder of reference photos.
        cache: where the maps are kept between runs, or None.
    """
    target = None if cache is None else cache / f"{name}.npz"
    if target is not None and target.exists():
        saved = np.load(target)
        cuts = np.cumsum(saved["lengths"])[:-1]
        return saved["scores"], np.split(saved["values"], cuts)
    import torch

    import blindiqa
    from blindiqa.io.files import iter_image_files
    from blindiqa.scoring import score_files

    torch.set_num_threads(1)
    model = blindiqa.load(name)
    items = list(iter_image_files([str(reference)], full_names=True))
    names, scores, maps = [], [], []
    for rec in score_files(model, items, workers=1, with_maps=True):
        if rec.score is None:
            print(f"{name}: {rec.name} failed: {rec.error}", file=sys.stderr)
            continue
        names.append(rec.name)
        scores.append(rec.score)
        maps.append(np.asarray(rec.quality_map, dtype=np.float64).ravel())
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savez(target, names=np.array(names), scores=np.array(scores),
                 lengths=np.array([m.size for m in maps]), values=np.concatenate(maps))
    return np.array(scores), maps


def add_window_scale(name: str, reference: Path = REFERENCE,
                     cache: Path | None = None) -> None:
    """Fit ``name``'s window scale on ``reference`` and write it into its bundle."""
    from blindiqa.models.quality_scale import WindowScale, read_quality_scale, with_quality_scale

    bundle = WEIGHTS / f"{name}.safetensors"
    photo = read_quality_scale(bundle)
    if photo is None:
        raise SystemExit(f"{bundle} has no photo scale; fit one with blindiqa fit-scale")
    t0 = time.perf_counter()
    scores, maps = window_maps(name, reference, cache)
    if len(scores) != photo.count:
        raise SystemExit(f"{name}: {len(scores)} photos scored, the photo scale has "
                         f"{photo.count}: not the same corpus")
    drift = float(np.abs(np.sort(scores) - photo.reference).max())
    windows = WindowScale.from_maps(maps, photo.corpus, lower_better=photo.lower_better)
    size = bundle.stat().st_size
    with_quality_scale(bundle, photo, bundle, windows=windows)
    values = np.concatenate(maps)
    old_low = float(np.mean(photo(values[np.isfinite(values)]) < 10))
    w = windows.reference
    print(f"{name}: {windows.windows} windows of {windows.photos} photos, quantiles "
          f"5/50/95 % {np.quantile(w, 0.05):.4g}/{np.quantile(w, 0.5):.4g}/"
          f"{np.quantile(w, 0.95):.4g}; photo scores 5/50/95 % "
          f"{np.quantile(photo.reference, 0.05):.4g}/{np.quantile(photo.reference, 0.5):.4g}/"
          f"{np.quantile(photo.reference, 0.95):.4g}; windows below quality 10 on the photo "
          f"scale {100 * old_low:.1f} %; map-pass scores vs stored scale: max |diff| "
          f"{drift:.2g}; {bundle.name} {size} -> {bundle.stat().st_size} bytes "
          f"({time.perf_counter() - t0:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated shipped models (default: %(default)s)")
    parser.add_argument("--reference", type=Path, default=REFERENCE,
                        help="the photo scale's corpus (default: "
                             "../shared/data/unlabeled/imagenet-sample)")
    parser.add_argument("--cache", type=Path, help="keep and reuse each model's maps here")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        raise SystemExit(f"reference photos not found at {args.reference}")
    for name in args.models.split(","):
        if name not in MODELS:
            parser.error(f"not a shipped model: {name!r} (one of {', '.join(MODELS)})")
        add_window_scale(name, args.reference, args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
