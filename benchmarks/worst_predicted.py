"""The development photos whose rank under a recipe is furthest from their rank by MOS.

Scores the cached development sets (``benchmarks/feature_cache.py``) with the default
recipe, prints the 20 worst-predicted photos of each set (percentile ranks by MOS and by
our score) and draws a contact sheet of them for looking at. The sheets show dataset
photos: they are written outside the repository (``--out``) and never committed.

    python benchmarks/worst_predicted.py --cache cache/lite2 --out /tmp/worst
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from recipe_lib import MOS, SHARED, Cache, fit_one_pass_from_cache, read_mos, score_cache
from scipy.stats import rankdata

from blindiqa.onepass import OnePassConfig

IMAGES = {"clive": SHARED / "clive-dev" / "images", "biq": SHARED / "biq2021-dev" / "images"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("cache/lite2"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=20)
    args = ap.parse_args()
    cfg = OnePassConfig(max_side=0)
    stats, _ = fit_one_pass_from_cache(Cache.load(args.cache / "pristine.pt"), cfg)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, folder in IMAGES.items():
        cache = Cache.load(args.cache / f"{name}.pt")
        mos = read_mos(MOS[name])
        m = np.array([mos[n] for n in cache.names])
        score = score_cache(cache, cfg, stats)
        by_mos, by_us = rankdata(m) / len(m), rankdata(-score) / len(score)
        worst = np.argsort(-np.abs(by_us - by_mos))[: args.count]
        sheet = Image.new("RGB", (240 * 5, 270 * ((len(worst) + 4) // 5)), "white")
        for k, i in enumerate(worst):
            print(f"{name} {cache.names[i]} MOS percentile {by_mos[i] * 100:.0f}, "
                  f"ours {by_us[i] * 100:.0f} (score {score[i]:.2f})")
            with Image.open(folder / cache.names[i]) as im:
                im = im.convert("RGB")
                im.thumbnail((240, 240))
                tile = Image.new("RGB", (240, 270), "white")
                tile.paste(im, (0, 0))
            ImageDraw.Draw(tile).text(
                (4, 244), f"{cache.names[i][:18]} MOS {by_mos[i] * 100:.0f} / ours "
                          f"{by_us[i] * 100:.0f}", fill="black")
            sheet.paste(tile, ((k % 5) * 240, (k // 5) * 270))
        sheet.save(args.out / f"worst_{name}.png")


if __name__ == "__main__":
    main()
