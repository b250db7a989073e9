"""Throughput of the 25 KADID-10k distortion types (images per second).

Usage::

    python benchmarks/bench_distortions.py [--batch 8] [--size 512x384] [--repeats 5]
        [--level 3] [--threads N] [--device cpu] [--names jpeg,denoise]

Each type is applied at ``--level`` to a batch of ``--batch`` copies of a natural image
(scikit-image's astronaut, cropped and resized to ``--size``; random smooth noise if
scikit-image is missing); one warm-up run, then the median of ``--repeats`` timed runs.
The last row times :func:`random_distortions` (a random type and level per image).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from blindiqa.distortions import DISTORTIONS, apply_distortion, random_distortions


def _image(width: int, height: int) -> torch.Tensor:
    try:
        from skimage import data

        x = torch.from_numpy(data.astronaut().copy()).permute(2, 0, 1).float() / 255.0
    except ImportError:
        g = torch.Generator().manual_seed(0)
        x = F.interpolate(torch.rand(1, 3, 32, 32, generator=g), size=(512, 512),
                          mode="bicubic", align_corners=False)[0].clamp(0, 1)
    _, h, w = x.shape
    ch = min(h, round(w * height / width))
    top = (h - ch) // 2
    x = x[:, top:top + ch].unsqueeze(0)
    return F.interpolate(x, size=(height, width), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device: torch.device, repeats: int) -> float:
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", default="512x384", help="WIDTHxHEIGHT (default 512x384)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--names", default="", help="comma-separated subset of types")
    args = parser.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    device = torch.device(args.device)
    batch = _image(width, height).expand(args.batch, -1, -1, -1).contiguous().to(device)
    names = [n for n in args.names.split(",") if n] or [d.name for d in DISTORTIONS]

    print(f"# {args.batch} x 3 x {height} x {width} on {device}, level {args.level}, "
          f"{torch.get_num_threads()} torch threads, median of {args.repeats}")
    print(f"{'type':30s} {'family':12s} {'ms/batch':>10s} {'images/s':>10s}")
    total = 0.0
    for name in names:
        family = next(d.family for d in DISTORTIONS if d.name == name)
        gen = torch.Generator().manual_seed(0)

        def run(name: str = name, gen: torch.Generator = gen) -> None:
            apply_distortion(batch, name, args.level, gen)

        sec = _time(run, device, args.repeats)
        total += sec
        print(f"{name:30s} {family:12s} {sec * 1e3:10.1f} {args.batch / sec:10.1f}")
    gen = torch.Generator().manual_seed(0)
    sec = _time(lambda: random_distortions(batch, gen), device, args.repeats)
    print(f"{'random_distortions (mixed)':30s} {'-':12s} {sec * 1e3:10.1f} "
          f"{args.batch / sec:10.1f}")
    mean = total / len(names)
    print(f"{'mean over types':30s} {'-':12s} {mean * 1e3:10.1f} {args.batch / mean:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
