"""Regenerate the shipped baseline parameter files in ``blindiqa/weights/``.

Usage (from the repository root)::

    python benchmarks/fit_shipped_baselines.py            # all baselines of this script
    python benchmarks/fit_shipped_baselines.py niqe       # only NIQE

NIQE: the official model-fitting procedure (``estimatemodelparam.m``: 96x96 blocks,
blocks sharper than 0.75 of each image's sharpest block) run by our own code on every
image of ``../shared/data/pristine`` (Kodak, LIVE1, McMaster, BSD100), written to
``blindiqa/weights/niqe.safetensors``. The result is deterministic: running it again
gives the same parameters. (IL-NIQE has its own script, ``fit_shipped_ilniqe.py``.)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRISTINE = REPO.parent / "shared" / "data" / "pristine"
WEIGHTS = REPO / "blindiqa" / "weights"


def fit_niqe(pristine: Path = PRISTINE, out: Path = WEIGHTS / "niqe.safetensors") -> dict:
    """Fit NIQE's pristine Gaussian on ``pristine`` and write it to ``out``.

    Args:
        pristine: folder of pristine images (walked recursively).
        out: output bundle path.

    Returns:
        The bundle metadata (provenance: images, block counts, threshold).
    """
    from blindiqa.baselines.niqe import fit

    if not pristine.is_dir():
        raise SystemExit(f"pristine images not found at {pristine}")
    t0 = time.perf_counter()
    meta = fit([pristine], out)
    out.chmod(0o644)  # save_bundle writes via mkstemp (0600); shipped files are world-readable
    print(f"niqe: {meta['images']} images, {meta['blocks_selected']} of "
          f"{meta['blocks_total']} blocks selected -> {out} "
          f"({time.perf_counter() - t0:.1f} s)")
    return meta


FITTERS = {"niqe": fit_niqe}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", choices=[*FITTERS, []],
                        help="which baselines to fit (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(REPO))
    for name in args.models or list(FITTERS):
        FITTERS[name]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
