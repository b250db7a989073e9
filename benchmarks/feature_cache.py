"""Cache each image's grid features once, so that recipe variants cost seconds.

For every image of the named sets, the one-pass engine's grid features of several taps
(``--taps``, stacked on the 16-px grid) are stored in float16 with the per-cell pixel
statistics of the pristine selection (:func:`blindiqa.onepass.pixel_cells`). NIQE
scores are stored too, for fusion experiments. ``benchmarks/select_default.py`` sweeps
recipes over the cache.

    python benchmarks/feature_cache.py --encoder efficientnet_lite2 --out cache/lite2 \\
        [--set pristine=../shared/data/pristine ...] [--scale 1.0]

One file per set: ``{out}/{set}.pt`` = ``{"names", "grids", "cells", "niqe", "taps",
"dims", "config"}``; with ``--split-taps`` the grids of each tap go to
``{out}/{set}.{tap}.pt`` instead, so a sweep loads only the taps it needs. An existing
set file is kept (delete it to rebuild). Sets named in ``--content-sets`` also keep
``"content"``: each image's 1280-channel ``head`` map at its own stride of 32 px
(float16), from which a window's ImageNet logits are computed (the content feature of
the trained head's CLUB penalty, ``benchmarks/head_table.py``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from tqdm import tqdm

from blindiqa.io.decode import decode_image
from blindiqa.io.files import iter_image_files
from blindiqa.models.load import load
from blindiqa.onepass import OnePassConfig, build_one_pass_encoder, limit_side, pixel_cells

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_SETS = {
    "pristine": SHARED / "pristine",
    "clive": SHARED / "clive-dev" / "images",
    "biq": SHARED / "biq2021-dev" / "images",
    "unlabeled": SHARED / "unlabeled",
}
DEFAULT_TAPS = ("stage1", "stage2", "stage3", "stage4", "stage5")


def _scaled(img: torch.Tensor, scale: float) -> torch.Tensor:
    if scale == 1.0:
        return img
    h, w = img.shape[-2:]
    return limit_side(img, max(1, round(max(h, w) * scale)))


def cache_set(name: str, folder: Path, out: Path, encoder, niqe, scale: float,
              content_encoder=None, split_taps: bool = False) -> None:
    target = out / f"{name}.pt"
    if target.exists():
        print(f"{target} exists, kept")
        return
    cfg = encoder.config
    names, grids, cells, niqe_scores, content = [], [], [], [], []
    t0 = time.perf_counter()
    files = [p for p, _ in iter_image_files([folder])]
    for path in tqdm(files, desc=name, unit="img", mininterval=10):
        img = _scaled(decode_image(path), scale)
        with torch.inference_mode():
            grids.append(encoder(img).half())
            cells.append(pixel_cells(img, cfg.grid_stride).float())
            niqe_scores.append(float(niqe.score_tensor(img)))
            if content_encoder is not None:
                content.append(content_encoder(img).half())
        names.append(path.relative_to(folder).as_posix())
    extra = {"content": content} if content_encoder is not None else {}
    if split_taps:
        start = 0
        for tap, dim in zip(cfg.taps, encoder.dims, strict=True):
            torch.save([g[start:start + dim].clone() for g in grids], out / f"{name}.{tap}.pt")
            start += dim
        grids = None
    torch.save({"names": names, "grids": grids, "cells": cells,
                "niqe": torch.tensor(niqe_scores, dtype=torch.float64),
                "taps": list(cfg.taps), "dims": encoder.dims, "config": cfg.to_json(),
                "scale": scale, **extra}, target)
    print(f"{name}: {len(names)} images in {time.perf_counter() - t0:.0f} s -> {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="efficientnet_lite2")
    ap.add_argument("--checkpoint", help="trained encoder weights instead of ImageNet")
    ap.add_argument("--taps", nargs="+", default=list(DEFAULT_TAPS))
    ap.add_argument("--normalization", default="imagenet")
    ap.add_argument("--scale", type=float, default=1.0, help="resize every image by this")
    ap.add_argument("--set", action="append", metavar="NAME=DIR",
                    help="sets to cache (default: pristine, clive, biq, unlabeled)")
    ap.add_argument("--content-sets", nargs="*", default=[], metavar="NAME",
                    help="sets that also keep the 'head' map (window content features)")
    ap.add_argument("--split-taps", action="store_true",
                    help="one file per set and tap ({set}.{tap}.pt), for wide encoders whose "
                         "taps do not all fit in memory at once")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sets = dict(s.split("=", 1) for s in args.set) if args.set else DEFAULT_SETS
    cfg = OnePassConfig(encoder=args.encoder, taps=tuple(args.taps),
                        normalization=args.normalization,
                        weights="pretrained" if args.checkpoint is None else "bundle")
    encoder = build_one_pass_encoder(cfg, checkpoint_path=args.checkpoint)
    niqe = load("niqe")
    content = None
    if args.content_sets:
        content_cfg = OnePassConfig(encoder=args.encoder, taps=("head",), grid_stride=32,
                                    normalization=args.normalization, weights=cfg.weights)
        content = build_one_pass_encoder(content_cfg, checkpoint_path=args.checkpoint)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, folder in sets.items():
        cache_set(name, Path(folder), args.out, encoder, niqe, args.scale,
                  content if name in args.content_sets else None, args.split_taps)


if __name__ == "__main__":
    main()
