"""Speed of the NSS baselines: seconds per image (median of several runs).

Usage (from the repository root)::

    python benchmarks/bench_baselines.py [--repeats 7] [--threads N]

Scores 500x500 and 1024x768 photos (crops / resizes of ``../shared/data/pristine``
images, or synthetic images where that folder is absent) with ``niqe`` and, where
``blindiqa.baselines.ilniqe`` is importable, ``ilniqe``; both through
``blindiqa.load(name, params=...)`` and ``.score_tensor`` (the per-image work, without
file decoding). Uses the official parameter files of ``../shared`` when present, else
the shipped ones (timings do not depend on the parameters).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SIZES = ((500, 500), (1024, 768))  # (width, height)


def _photo(width: int, height: int, seed: int = 0) -> torch.Tensor:
    """A (3, H, W) test photo: a pristine image resized to cover, centre-cropped."""
    from PIL import Image

    folder = SHARED / "pristine"
    files = sorted(folder.rglob("*.png")) + sorted(folder.rglob("*.jpg")) \
        + sorted(folder.rglob("*.bmp")) + sorted(folder.rglob("*.tif"))
    if files:
        with Image.open(files[seed % len(files)]) as im:
            im = im.convert("RGB")
            scale = max(width / im.width, height / im.height)
            if scale > 1:
                im = im.resize((round(im.width * scale + 0.5), round(im.height * scale + 0.5)),
                               Image.Resampling.BICUBIC)
            left, top = (im.width - width) // 2, (im.height - height) // 2
            arr = np.asarray(im.crop((left, top, left + width, top + height)))
    else:  # synthetic: smooth structure plus texture
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
        base = 0.5 + 0.3 * np.sin(12 * xx + 5 * yy)[..., None] * np.array([1.0, 0.8, 0.6])
        arr = np.clip((base + 0.05 * rng.standard_normal((height, width, 3))) * 255, 0, 255)
        arr = arr.astype(np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0


def _models() -> dict[str, dict]:
    models = {"niqe": {}}
    npz = SHARED / "reference-params" / "niqe_pris_params.npz"
    if npz.is_file():
        models["niqe"] = {"params": str(npz)}
    mat = SHARED / "reference-params" / "ilniqe_templateModel.mat"
    models["ilniqe"] = {"params": str(mat)} if mat.is_file() else {}
    return models


def _time(fn, image: torch.Tensor, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU (process) seconds of ``fn(image)``."""
    fn(image)  # warm-up (caches, lazy initialisation)
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(image)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per cell")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import blindiqa

    if args.threads:
        torch.set_num_threads(args.threads)
    images = {f"{w}x{h}": _photo(w, h) for w, h in SIZES}
    print(f"CPU cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, "
          f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"median of {args.repeats} runs, seconds per image (score_tensor, no decoding); "
          "wall clock, and CPU time of the process (a proxy when the machine is busy)")
    print(f"{'model':10s}" + "".join(f"{k + ' wall':>16s}{k + ' cpu':>16s}" for k in images))
    for name, options in _models().items():
        try:
            model = blindiqa.load(name, **options)
        except (ValueError, ImportError) as exc:
            print(f"{name:10s} unavailable: {exc}")
            continue
        cells = [_time(model.score_tensor, img, args.repeats) for img in images.values()]
        print(f"{name:10s}" + "".join(f"{w:16.4f}{c:16.4f}" for w, c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
