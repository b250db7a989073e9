"""Does decoding a large JPEG at reduced size (``OnePassConfig.jpeg_draft``) change what
the default model says?

The development photos are about 500 px, below the default's ``max_side`` of 1024, so on
them the reduced decoding never applies and their scores are unchanged. To see it at
work, this script enlarges each photo (bicubic, ``--scale`` times: 6x makes a 3000 px
photo, which Pillow decodes at 1/2 in the DCT domain) and saves it as a JPEG (quality
90), then scores the file with the default model twice: as shipped (reduced decoding,
then the antialiased resize to 1024) and with ``jpeg_draft`` off (full decoding, then
the same resize). It prints |SRCC| against MOS for the original photos and for both
decodings of the enlarged ones, how far the two decodings' scores are apart, and the
seconds per file of each (decode and score).

    python benchmarks/jpeg_draft.py [--per-set 200] [--scale 6] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import blindiqa
from blindiqa.bench.metrics import srcc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resolution_policy import SETS, read_mos  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-set", type=int, default=200, help="first N photos of each set")
    ap.add_argument("--scale", type=float, default=6.0, help="enlargement (default 6)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    reduced = blindiqa.load("default")
    full = blindiqa.load("default")
    full.config.jpeg_draft = False
    assert reduced.decode_max_side == 1024 and full.decode_max_side == 0
    print(f"default model, first {args.per_set} photos of each set enlarged {args.scale:g}x "
          f"(bicubic, JPEG quality 90), {args.threads} threads")
    print("| set | photos | size | SRCC 1x | SRCC, full decode | SRCC, reduced decode | "
          "SRCC full vs reduced | median rel. difference | s/file full | s/file reduced |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, root in SETS.items():
        items = read_mos(root)[: args.per_set]
        mos = np.array([m for _, m in items])
        native, a, b, ta, tb = [], [], [], [], []
        size = ""
        with tempfile.TemporaryDirectory() as tmp:
            for fname, _ in items:
                with Image.open(root / "images" / fname) as im:
                    im = im.convert("RGB")
                    native.append(reduced.score(im).item())
                    big = im.resize((round(im.width * args.scale), round(im.height * args.scale)),
                                    Image.BICUBIC)
                path = Path(tmp) / "big.jpg"
                big.save(path, quality=90)
                size = f"{big.width}x{big.height}"
                for model, out, secs in ((full, a, ta), (reduced, b, tb)):
                    t0 = time.perf_counter()
                    out.append(model.score(path).item())
                    secs.append(time.perf_counter() - t0)
        a_, b_ = np.array(a), np.array(b)
        rel = statistics.median(np.abs(a_ - b_) / np.abs(a_))
        print(f"| {name} | {len(items)} | {size} (last) | {abs(srcc(np.array(native), mos)):.3f} | "
              f"{abs(srcc(a_, mos)):.3f} | {abs(srcc(b_, mos)):.3f} | {srcc(a_, b_):.4f} | "
              f"{rel:.4f} | {statistics.median(ta):.3f} | {statistics.median(tb):.3f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
