"""Regenerate the shipped ``default`` model bundle.

The configuration is the winner of ``benchmarks/select_default.py`` on clive-dev (see
the README's results): untrained ImageNet EfficientNet-Lite2, the output of block stage
4 (88 channels, average-pooled), ImageNet input normalisation, 96x96 patches at stride 48,
pristine Gaussian fitted on ``../shared/data/pristine``.

    python benchmarks/fit_default.py [--pristine DIR] [--out blindiqa/weights/default.safetensors]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from blindiqa.models.bundle import save_bundle
from blindiqa.models.fit import fit_pristine
from blindiqa.models.gaussian_model import FeatureConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = FeatureConfig(encoder="efficientnet_lite2", layers=("stage4",),
                               normalization="imagenet", weights="pretrained",
                               patch_size=96, stride=48)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pristine", type=Path, default=ROOT.parent / "shared/data/pristine")
    ap.add_argument("--out", type=Path, default=ROOT / "blindiqa/weights/default.safetensors")
    args = ap.parse_args()
    model = fit_pristine([args.pristine], DEFAULT_CONFIG, name="default", progress=True)
    tensors, meta = model.bundle_contents()
    # record the corpus by its folder name, not this machine's absolute path
    meta["provenance"]["sources"] = ["shared/data/pristine"]
    save_bundle(args.out, tensors, meta)
    print(f"wrote {args.out}: {model.provenance['patches']} patches of "
          f"{model.provenance['images']} images")


if __name__ == "__main__":
    main()
