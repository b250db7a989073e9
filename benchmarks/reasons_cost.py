"""What ``--reasons`` costs: images per second of the default model with and without
the reasons, on the same photos in the same process, runs interleaved.

    nice -n 10 python benchmarks/reasons_cost.py [--count 50] [--repeats 5] [--threads 2]
        [--folders bsd100 ...]

Photos: the first ``--count`` pristine photos (sorted by path) of the ``--folders`` of
the pristine corpus (default: all four). Decoding happens in this
process (``workers=0``), as ``blindiqa score --workers 0`` does; the numbers are the
median over ``--repeats`` runs of each setting.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from blindiqa.io.files import iter_image_files
from blindiqa.models.load import load
from blindiqa.scoring import score_files

ROOT = Path(__file__).resolve().parents[1]
PRISTINE = ROOT.parent / "shared" / "data" / "pristine"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--folders", nargs="+", default=["bsd100", "kodak24", "live1", "mcmaster"])
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    files = list(iter_image_files([PRISTINE / f for f in args.folders]))[: args.count]
    model = load("default")
    list(score_files(model, files[:2], with_reasons=True))  # warm up, read the probe
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeats):
        for reasons in (False, True):
            t0 = time.perf_counter()
            recs = list(score_files(model, files, with_reasons=reasons))
            times[reasons].append(time.perf_counter() - t0)
            assert all(r.error is None for r in recs)
    plain, with_r = (statistics.median(times[k]) for k in (False, True))
    sizes = sorted({(r.width, r.height) for r in recs})
    print(f"{len(files)} photos ({', '.join(args.folders)}; sizes {sizes[:3]}...), "
          f"{args.threads} threads, median of {args.repeats}:")
    print(f"  without --reasons: {plain:.2f} s = {len(files) / plain:.2f} images/s")
    print(f"  with --reasons:    {with_r:.2f} s = {len(files) / with_r:.2f} images/s")
    print(f"  ratio (time with / without): {with_r / plain:.3f}; "
          f"{1000 * (with_r - plain) / len(files):.1f} ms per image")
    print(f"  all runs: {times}")


if __name__ == "__main__":
    main()
