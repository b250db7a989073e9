"""Regenerate the shipped ``default`` model bundle.

The recipe is :class:`blindiqa.onepass.OnePassConfig`'s defaults, the winner of
``benchmarks/select_default.py`` on the two development sets (see
``docs/default_selection.md``): untrained ImageNet EfficientNet-Lite2, one pass over the
image, taps stage 2-5 on the 16-px grid, L2-normalised per tap, Gaussian windows of
3 cells (1/16 of the short side), each window's Mahalanobis distance to the pristine
Gaussian pooled by activity, long side limited to 1024 px. The pristine Gaussian is
fitted on the sharp, colourful windows of ``../shared/data/pristine``.

    python benchmarks/fit_default.py [--pristine DIR] [--out blindiqa/weights/default.safetensors]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blindiqa.models.bundle import save_bundle
from blindiqa.models.fit import fit_one_pass
from blindiqa.onepass import OnePassConfig

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pristine", type=Path, default=ROOT.parent / "shared/data/pristine")
    ap.add_argument("--out", type=Path, default=ROOT / "blindiqa/weights/default.safetensors")
    args = ap.parse_args()
    model = fit_one_pass([args.pristine], OnePassConfig(), name="default", progress=True)
    tensors, meta = model.bundle_contents()
    # record the corpus by its folder name, not this machine's absolute path
    meta["provenance"]["sources"] = ["shared/data/pristine"]
    save_bundle(args.out, tensors, meta)
    print(f"wrote {args.out}: {model.provenance['windows']} windows of "
          f"{model.provenance['images']} images")


if __name__ == "__main__":
    main()
