"""How should photos larger than the displays people rate on be scored?

The development photos are about 500 px; users' photos are often 4000 x 3000. This
script enlarges development photos by 2x and 3x (bicubic: the same content on more
pixels, as a larger photo of the same scene) and scores them with the default model
under several resolution policies: ``max_side`` 0 (native resolution), 1024, 768 and
512 px. A policy that ranks the enlarged photos as it ranks the originals (|SRCC|
against MOS close to the 1x figure) judges content, not pixel count. Seconds per
image are given too.

    python benchmarks/resolution_policy.py [--per-set 60] [--scales 1 2 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import blindiqa
from blindiqa.bench.metrics import srcc
from blindiqa.io.decode import to_tensor

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SETS = {"clive": SHARED / "clive-dev", "biq": SHARED / "biq2021-dev"}


def read_mos(root: Path) -> list[tuple[str, float]]:
    rows = (line.split(",") for line in (root / "mos.csv").read_text().splitlines()[1:])
    return [(r[0], float(r[1])) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-set", type=int, default=60, help="first N photos of each set")
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    ap.add_argument("--policies", type=int, nargs="+", default=[0, 1024, 768, 512])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models = {p: blindiqa.load("default", max_side=p) for p in args.policies}
    print(f"default model, first {args.per_set} photos of each set, {args.threads} threads")
    print("| set | enlarged | " + " | ".join(f"max_side {p or 'native'}" for p in args.policies)
          + " |")
    print("|---|---|" + "---|" * len(args.policies))
    for name, root in SETS.items():
        items = read_mos(root)[: args.per_set]
        mos = np.array([m for _, m in items])
        for scale in args.scales:
            scores = {p: [] for p in args.policies}
            secs = {p: 0.0 for p in args.policies}
            for fname, _ in items:
                with Image.open(root / "images" / fname) as im:
                    im = im.convert("RGB")
                    if scale != 1.0:
                        im = im.resize((round(im.width * scale), round(im.height * scale)),
                                       Image.BICUBIC)
                    img = to_tensor(im)
                for p, model in models.items():
                    t = time.perf_counter()
                    scores[p].append(model.score_tensor(img))
                    secs[p] += time.perf_counter() - t
            cells = [f"{abs(srcc(np.array(scores[p]), mos)):.3f} "
                     f"({secs[p] / len(items):.2f} s)" for p in args.policies]
            print(f"| {name} | {scale:g}x | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
