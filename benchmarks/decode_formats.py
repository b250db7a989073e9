"""How fast are the formats of the ``[formats]`` extra decoded, and do they score as the
same photo in PNG does?

Enlarges one photo (bicubic) to ``--size`` (default 4000x3000, 12 Mpixel) and writes it
as JPEG (quality 90), HEIC and AVIF (quality 90, through Pillow and ``pillow-heif``), a
12-bit Bayer DNG (``pidng``) and the same DNG with a 1616x1080 embedded RGB preview (as
some cameras embed; written with ``tifffile``). Then, for each file, prints the median
seconds of ``decode_image_sized`` (``--repeat`` runs) at ``max_side`` 1024 (the default
model's) and 0 (native), which rendering a raw file got, and the default model's score of
the decoded file beside its score of the PNG.

    python benchmarks/decode_formats.py [--photo PATH] [--size 4000x3000] [--repeat 3]

The two DNG writers are also the tests' (``tests/io/test_formats_extra.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

#: XYZ (D65) to linear sRGB: a DNG ``ColorMatrix1`` that makes the camera's RGB linear
#: sRGB, so that LibRaw renders the written pixels back as sRGB.
_XYZ_TO_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                         [-0.9692660, 1.8760108, 0.0415560],
                         [0.0556434, -0.2040259, 1.0572252]])

#: The photo used where ``--photo`` is not given: the first unlabeled sample photo.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _bayer(rgb: np.ndarray, bits: int) -> np.ndarray:
    """An RGGB Bayer mosaic of an 8-bit sRGB image, linear, ``bits`` bits in uint16."""
    srgb = rgb.astype(np.float64) / 255.0
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    cfa = np.empty(rgb.shape[:2])
    cfa[0::2, 0::2] = lin[0::2, 0::2, 0]
    cfa[0::2, 1::2] = lin[0::2, 1::2, 1]
    cfa[1::2, 0::2] = lin[1::2, 0::2, 1]
    cfa[1::2, 1::2] = lin[1::2, 1::2, 2]
    return np.round(cfa * (2**bits - 1)).astype(np.uint16)


def _rationals(values, den: int = 10000) -> list[list[int]]:
    return [[int(round(v * den)), den] for v in np.ravel(values)]


def write_dng(path: str | os.PathLike, rgb: np.ndarray, orientation: int = 1,
              bits: int = 12) -> Path:
    """Write an 8-bit sRGB ``(H, W, 3)`` image (even sides) as a Bayer (RGGB) DNG with
    ``pidng``: linear sensor values of ``bits`` bits, a colour matrix that makes them
    sRGB, neutral white balance and the EXIF ``orientation`` (1, 3, 6 or 8)."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion
    from pidng.defs import PhotometricInterpretation as Photometric

    h, w = rgb.shape[:2]
    tags = DNGTags()
    for tag, value in ((Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w),
                       (Tag.TileLength, h), (Tag.Orientation, orientation),
                       (Tag.PhotometricInterpretation, Photometric.Color_Filter_Array),
                       (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 16),
                       (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.RGGB),
                       (Tag.BlackLevel, 0), (Tag.WhiteLevel, 2**bits - 1),
                       (Tag.ColorMatrix1, _rationals(_XYZ_TO_SRGB)),
                       (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.AsShotNeutral, _rationals([1, 1, 1])),
                       (Tag.Make, "blindiqa"), (Tag.Model, "synthetic"),
                       (Tag.UniqueCameraModel, "blindiqa synthetic"),
                       (Tag.DNGVersion, DNGVersion.V1_4),
                       (Tag.DNGBackwardVersion, DNGVersion.V1_2)):
        tags.set(tag, value)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    out = Path(path)
    out.write_bytes(writer.convert(_bayer(rgb, bits)))
    return out


def write_dng_with_preview(path: str | os.PathLike, rgb: np.ndarray, preview: np.ndarray,
                           orientation: int = 1, bits: int = 12) -> Path:
    """Write a DNG as cameras lay it out, with ``tifffile``: the first IFD an 8-bit RGB
    ``preview`` (uncompressed; LibRaw reads it as a bitmap thumbnail), and a SubIFD
    holding the Bayer (RGGB) mosaic of ``rgb`` as :func:`write_dng` writes it."""
    import tifffile

    cm: list[int] = [x for pair in _rationals(_XYZ_TO_SRGB) for x in pair]
    dng = [(50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 2, 0, 0), True),
           (271, "s", 0, "blindiqa", True), (272, "s", 0, "synthetic", True),
           (274, "H", 1, orientation, True), (50708, "s", 0, "blindiqa synthetic", True),
           (50721, "2i", 9, cm, True), (50778, "H", 1, 21, True),
           (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True)]
    cfa = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),
           (50714, "H", 1, 0, True), (50717, "H", 1, 2**bits - 1, True)]
    out = Path(path)
    with tifffile.TiffWriter(out) as tw:
        tw.write(np.ascontiguousarray(preview), photometric="rgb", subfiletype=1, subifds=1,
                 metadata=None, extratags=dng)
        tw.write(_bayer(rgb, bits), photometric=32803, subfiletype=0, metadata=None,
                 extratags=cfa)
    return out


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _default_photo() -> Path:
    folder = _SHARED / "unlabeled" / "imagenet-sample"
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        raise SystemExit(f"no photo in {folder}: pass --photo PATH")
    return photos[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", type=Path, default=None, help="default: a shared sample photo")
    ap.add_argument("--size", default="4000x3000", help="WxH to enlarge to (even sides)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-score", action="store_true", help="time the decoding only")
    args = ap.parse_args(argv)

    import pillow_heif
    import torch

    import blindiqa
    from blindiqa.io.decode import decode_image_sized
    from blindiqa.io.raw import RAW_ENV, render_raw

    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    photo = args.photo or _default_photo()
    with Image.open(photo) as im:
        big = np.asarray(im.convert("RGB").resize((w, h), Image.BICUBIC))
    model = None if args.no_score else blindiqa.load("default")
    print(f"{photo.name} enlarged to {w}x{h}; pillow-heif {pillow_heif.__version__}, "
          f"libheif {pillow_heif.libheif_version()}, Pillow {Image.__version__}; median of "
          f"{args.repeat}; {args.threads} threads")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        Image.fromarray(big).save(d / "x.png")
        Image.fromarray(big).save(d / "x.jpg", quality=90)
        pillow_heif.register_heif_opener()
        Image.fromarray(big).save(d / "x.heic", quality=90)
        Image.fromarray(big).save(d / "x.avif", quality=90)
        write_dng(d / "x.dng", big)
        preview = np.asarray(Image.fromarray(big).resize((1616, 1212), Image.BICUBIC))
        write_dng_with_preview(d / "x_preview.dng", big, preview)
        ref = None if model is None else model.score(d / "x.png").item()
        print("| file | MB | rendering | decode s, max_side 1024 | decode s, native | "
              "score (PNG: {}) |".format("-" if ref is None else f"{ref:.3f}"))
        print("|---|---|---|---|---|---|")
        rows = [("x.png", None), ("x.jpg", None), ("x.heic", None), ("x.avif", None),
                ("x.dng", "demosaic"), ("x_preview.dng", "auto"), ("x_preview.dng", "demosaic")]
        for name, mode in rows:
            p = d / name
            if mode is not None:
                os.environ[RAW_ENV] = mode
            how = "-" if mode is None else render_raw(p, 1024).source + " / " + render_raw(
                p, 0).source
            t1024 = _median_seconds(lambda p=p: decode_image_sized(p, max_side=1024),
                                    args.repeat)
            t0 = _median_seconds(lambda p=p: decode_image_sized(p), args.repeat)
            score = "-" if model is None else f"{model.score(p).item():.3f}"
            print(f"| {name} | {p.stat().st_size / 1e6:.1f} | {how} | {t1024:.3f} | {t0:.3f} | "
                  f"{score} |", flush=True)
            os.environ.pop(RAW_ENV, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
