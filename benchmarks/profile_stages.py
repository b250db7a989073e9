"""Where a photo's time goes in the default model: one row per stage of the scoring path.

Usage (from the repository root)::

    python benchmarks/profile_stages.py                    # 500x500 and 4000x3000 JPEGs
    python benchmarks/profile_stages.py --sizes 1024x768 --threads 1 --repeats 5

Each size gets a few JPEG photos (made as ``benchmarks/throughput.py`` makes them), and
each photo goes through the stages of ``blindiqa.scoring.score_files`` one by one, timed
apart, in the process (no decoding worker): decoding (8-bit, reduced for a large JPEG as
the model asks), the conversion to float, the resize to ``max_side``, the encoder pass
(normalisation, padding, the network, the taps brought to the grid), the windows, and
the distance. The table gives the median over ``--repeats`` passes of the photos, in ms
per photo, and each stage's share. Like ``blindiqa score``, the process limits OpenMP's
spinning and keeps freed memory (:mod:`blindiqa.runtime`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from blindiqa.runtime import limit_openmp_spinning

limit_openmp_spinning()  # before torch loads, as the blindiqa command does

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import PRISTINE, cpu_model, parse_sizes, write_photos  # noqa: E402

STAGES = ("decode", "to float", "resize to max_side", "encoder", "windows", "distance")


def profile(files: Sequence[Path], repeats: int) -> dict[str, float]:
    """Median seconds per photo of each stage of :data:`STAGES` over ``files``."""
    import blindiqa
    from blindiqa.io.decode import decode_image, uint8_to_float
    from blindiqa.onepass import limit_side, score_windows, windows

    model = blindiqa.load("default")
    cfg = model.config
    times: dict[str, list[float]] = {s: [] for s in STAGES}

    def timed(stage: str, fn: Callable, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        times[stage].append(time.perf_counter() - t0)
        return out

    with torch.inference_mode():
        model.score(files[0])  # warm-up: oneDNN builds its kernels on the first pass
        for _ in range(repeats):
            for f in files:
                px = timed("decode", decode_image, f, True, model.decode_max_side)
                img = timed("to float", uint8_to_float, px)
                img = timed("resize to max_side", limit_side, img, cfg.max_side)
                grid = timed("encoder", model.encoder, img)
                wins = timed("windows", windows, grid, cfg, model.encoder.dims)
                timed("distance", score_windows, wins, model.pristine_mean, model.pristine_cov,
                      cfg.distance, cfg.ridge)
    return {s: statistics.median(v) for s, v in times.items()}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["500x500", "4000x3000"], metavar="WxH")
    p.add_argument("--photos", type=int, default=3, help="photos per size (default 3)")
    p.add_argument("--repeats", type=int, default=5, help="passes over them (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"Machine: {cpu_model()}, torch {torch.__version__}, {args.threads} threads; "
          f"default model, median of {args.repeats} passes over {args.photos} JPEG photos")
    sizes = parse_sizes(args.sizes)
    print("| stage | " + " | ".join(f"{w}x{h} ms | share" for w, h in sizes) + " |")
    print("|---|" + "---|---|" * len(sizes))
    with tempfile.TemporaryDirectory() as tmp:
        results = [profile(write_photos(Path(tmp) / f"{w}x{h}", w, h, args.photos, PRISTINE),
                           args.repeats) for w, h in sizes]
    for stage in (*STAGES, "total"):
        cells = []
        for r in results:
            total = sum(r.values())
            t = total if stage == "total" else r[stage]
            cells.append(f"{t * 1e3:.1f} | {t / total:.0%}")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
