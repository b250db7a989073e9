"""Regenerate the shipped IL-NIQE template ``blindiqa/weights/ilniqe.safetensors``.

Usage (from the repository root)::

    python benchmarks/fit_shipped_ilniqe.py [--pristine DIR] [--out FILE]

The official IL-NIQE template-learning procedure (images resized to 524x524, 84x84
patches, patches sharper than 0.78 of each image's sharpest patch, PCA keeping
``floor(0.92 * 468) = 430`` directions, Gaussian of the projected patches) run by our
own code (:func:`blindiqa.baselines.ilniqe.fit`) on every image of
``../shared/data/pristine`` (Kodak, LIVE1, McMaster, BSD100). The template is stored in
float64 (about 3 MB). The result is deterministic: running it again gives the same file
contents up to the floating-point summation order of the BLAS in use.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRISTINE = REPO.parent / "shared" / "data" / "pristine"
OUT = REPO / "blindiqa" / "weights" / "ilniqe.safetensors"


def fit_ilniqe(pristine: Path = PRISTINE, out: Path = OUT, progress: bool = False) -> dict:
    """Learn the IL-NIQE template on ``pristine`` and write it to ``out``.

    Args:
        pristine: folder of pristine images (walked recursively).
        out: output bundle path.
        progress: log one line per image.

    Returns:
        The bundle metadata (provenance: images, patch counts, thresholds).
    """
    from blindiqa.baselines.ilniqe import fit

    if not pristine.is_dir():
        raise SystemExit(f"pristine images not found at {pristine}")
    t0 = time.perf_counter()
    meta = fit([pristine], out, progress=progress)
    print(f"ilniqe: {meta['images']} images, {meta['patches_selected']} of "
          f"{meta['patches_total']} patches selected, PCA to {meta['pca_dim']} -> {out} "
          f"({out.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s)")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pristine", type=Path, default=PRISTINE,
                        help="folder of pristine images (default: ../shared/data/pristine)")
    parser.add_argument("--out", type=Path, default=OUT, help="output bundle")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per image")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    sys.path.insert(0, str(REPO))
    fit_ilniqe(args.pristine, args.out, progress=args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
