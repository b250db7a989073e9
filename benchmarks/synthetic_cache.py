"""Cache the grid features of synthetically distorted pristine images, with their
distortion level as a pseudo-label (no human score): the data of the learned
"quality direction" experiment of ``benchmarks/select_default.py``.

Each pristine image enters once as it is (level 0) and ``--per-image`` times distorted
by a seeded random KADID-10k type at a random level 1-5 (``blindiqa.distortions``).

    python benchmarks/synthetic_cache.py --cache cache/lite2 [--per-image 3] [--seed 0]

Writes ``{cache}/synthetic.pt`` in the layout of ``benchmarks/feature_cache.py`` plus
``levels`` and ``kinds``; the encoder settings are those of ``{cache}/pristine.pt``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from tqdm import tqdm

from blindiqa.distortions import NAMES, apply_distortion
from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files
from blindiqa.onepass import OnePassConfig, build_one_pass_encoder, pixel_cells

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--pristine", type=Path, default=SHARED / "pristine")
    ap.add_argument("--per-image", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref = torch.load(args.cache / "pristine.pt", weights_only=False)
    cfg = OnePassConfig.from_json(ref["config"])
    encoder = build_one_pass_encoder(cfg)
    gen = torch.Generator().manual_seed(args.seed)
    names, grids, cells, levels, kinds = [], [], [], [], []
    t0 = time.perf_counter()
    files = [p for p, _ in iter_image_files([args.pristine])]
    for path in tqdm(files, unit="img", mininterval=10):
        img = decode_image(path)
        versions = [(img, 0, "original")]
        for _ in range(args.per_image):
            kind = NAMES[int(torch.randint(len(NAMES), (1,), generator=gen))]
            level = int(torch.randint(1, 6, (1,), generator=gen))
            out = apply_distortion(img[None], kind, level, generator=gen)[0].clamp(0, 1)
            versions.append((out, level, kind))
        for im, level, kind in versions:
            with torch.inference_mode():
                grids.append(encoder(im).half())
                cells.append(pixel_cells(im, cfg.grid_stride).float())
            names.append(path.relative_to(args.pristine).as_posix())
            levels.append(level)
            kinds.append(kind)
    torch.save({"names": names, "grids": grids, "cells": cells,
                "niqe": torch.zeros(len(names), dtype=torch.float64),
                "levels": torch.tensor(levels), "kinds": kinds, "taps": ref["taps"],
                "dims": ref["dims"], "config": ref["config"], "scale": 1.0},
               args.cache / "synthetic.pt")
    print(f"{len(names)} images in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
