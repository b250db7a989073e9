"""Build the window caches of the trained-head experiments (``benchmarks/head_table.py``).

* ``{out}/synthetic.pt``: the pristine corpus under seeded distortions, all 5 levels
  (:func:`blindiqa.head.cache.build_synthetic_cache`, the default's engine settings);
* ``{out}/authentic.pt``: seeded windows of the unlabeled photos with their content
  logits, from the grid cache of ``benchmarks/feature_cache.py`` (built with
  ``--content-sets unlabeled``), plus each window's training-free distance to the
  shipped default's pristine Gaussian and each photo's default score (the pseudo-labels
  of self-training).

    python benchmarks/head_cache.py --grids cache/lite2 --out cache/head [--types 3]
        [--windows 48] [--seed 0] [--only synthetic|authentic]

An existing file is kept (delete it to rebuild).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from tqdm import tqdm

from blindiqa.head.cache import (
    ContentFeatures,
    build_synthetic_cache,
    sample_positions,
    training_free_distances,
    window_content,
)
from blindiqa.io.files import iter_image_files
from blindiqa.models.load import load
from blindiqa.onepass import OnePassConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def authentic(grids_path: Path, out: Path, windows_per_image: int, seed: int) -> None:
    d = torch.load(grids_path, weights_only=False)
    cfg = OnePassConfig.from_json(d["config"])
    default = load("default")
    if cfg.to_json() != {**default.config.to_json(), "max_side": cfg.max_side}:
        raise SystemExit("the grid cache was not built with the default's engine settings")
    content = ContentFeatures(cfg)
    gen = torch.Generator().manual_seed(seed)
    feats, logits, pseudo, image_scores = [], [], [], []
    for grid, head_map in tqdm(list(zip(d["grids"], d["content"], strict=True)),
                               desc="authentic", mininterval=10):
        wins, c = window_content(grid, head_map, cfg, d["dims"], content)
        # each window's training-free distance to the default's pristine Gaussian, and
        # the photo's default score: the pseudo-labels of self-training
        dist, score = training_free_distances(wins, default.pristine_mean,
                                              default.pristine_cov, cfg.ridge)
        image_scores.append(score)
        pos = sample_positions(dist.shape[0], windows_per_image, gen)
        feats.append(wins.features[pos].half())
        logits.append(c[pos].half())
        pseudo.append(dist[pos].float())
    torch.save({"kind": "authentic", "features": torch.stack(feats),
                "content": torch.stack(logits), "pseudo": torch.stack(pseudo),
                "image_scores": torch.tensor(image_scores, dtype=torch.float64),
                "names": d["names"], "config": cfg.to_json(), "dims": d["dims"],
                "seed": seed}, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grids", type=Path, default=ROOT / "cache" / "lite2")
    ap.add_argument("--pristine", type=Path, default=SHARED / "pristine")
    ap.add_argument("--out", type=Path, default=ROOT / "cache" / "head")
    ap.add_argument("--types", type=int, default=3)
    ap.add_argument("--windows", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--only", choices=("synthetic", "authentic"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    syn = args.out / "synthetic.pt"
    if args.only in (None, "synthetic") and not syn.exists():
        files = [p for p, _ in iter_image_files([args.pristine])]
        bar = tqdm(total=len(files), desc="synthetic", mininterval=10)
        cache = build_synthetic_cache(files, OnePassConfig(), types=args.types,
                                      windows_per_image=args.windows, seed=args.seed,
                                      progress=bar.update)
        bar.close()
        torch.save(cache, syn)
        print(f"synthetic: {len(files)} scenes in {time.perf_counter() - t0:.0f} s")
    auth = args.out / "authentic.pt"
    if args.only in (None, "authentic") and not auth.exists():
        authentic(args.grids / "unlabeled.pt", auth, args.windows, args.seed)
        print(f"authentic: done at {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
