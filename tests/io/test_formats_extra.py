"""HEIC/HEIF, AVIF and camera raw files: the ``[formats]`` extra, and its absence.

Each format is tested on a file made here from a sample photo: HEIC and AVIF written by
``pillow-heif`` / Pillow, DNG by ``pidng`` (and, with an embedded preview, ``tifffile``),
through the writers of ``benchmarks/decode_formats.py``.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from blindiqa.io import formats
from blindiqa.io.decode import ImageDecodeError, decode_image_sized
from blindiqa.io.files import iter_image_files
from blindiqa.io.raw import RAW_ENV, raw_mode, render_raw
from blindiqa.scoring import score_files

HINT = "install blindiqa[formats] (pip install 'blindiqa[formats]')"


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255.0**2 / mse)


def _hwc(t) -> np.ndarray:
    return t.permute(1, 2, 0).numpy()


def _turned(photo: np.ndarray) -> np.ndarray:
    """The photo as viewed with EXIF orientation 6 (a quarter turn clockwise)."""
    return np.ascontiguousarray(np.rot90(photo, -1))


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _rawpy():
    """``rawpy`` as blindiqa imports it, or a skip."""
    try:
        return formats.import_rawpy()
    except ImportError:
        pytest.skip("rawpy is not installed (pip install '.[test]')")


@pytest.fixture(scope="module")
def dng(load_benchmark):
    """The DNG writers of ``benchmarks/decode_formats.py`` (``write_dng_with_preview``
    needs tifffile); with rawpy to read them back."""
    _rawpy()
    return load_benchmark("decode_formats")


@pytest.fixture(scope="module")
def bayer_dng(dng):
    """As :func:`dng`, where ``write_dng`` (pidng, built from source, so installed by
    ``.ci/run`` where it builds) is available."""
    pytest.importorskip("pidng", reason="pidng is not installed (pip install pidng; it "
                                        "builds from source)")
    return dng


@pytest.fixture
def no_heif(monkeypatch):
    """``pillow-heif`` missing (and not registered yet) in this process."""
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    monkeypatch.setattr(formats, "_heif_registered", None)
    # an opener registered by an earlier test stays in Pillow: take it out for this test
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "HEIF"])


def _score_one(model, path: Path):
    (rec,) = score_files(model, [(path, path.name)])
    return rec


# ------------------------------------------------------------------ finding the files
def test_folder_walk_finds_heic_avif_and_raw_with_or_without_the_extra(tmp_path):
    names = ["a.HEIC", "b.heif", "c.avif", "d.dng", "e.CR2", "f.nef", "g.ARW", "h.cr3",
             "i.RAF", "j.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    found = sorted(name for _, name in iter_image_files([tmp_path]))
    assert found == sorted(names[:-1])


# ------------------------------------------------------------------ without the extra
def test_heic_without_pillow_heif_is_an_error_naming_the_extra(tmp_path, no_heif):
    p = tmp_path / "IMG_0001.HEIC"
    p.write_bytes(b"\0\0\0\x18ftypheic" + bytes(100))
    with pytest.raises(ImageDecodeError) as info:
        decode_image_sized(p)
    assert str(info.value) == f"cannot read HEIC: {HINT}: {p}"


def test_heif_by_another_name_without_pillow_heif_names_the_extra(tmp_path, no_heif):
    p = tmp_path / "photo.jpg"  # a HEIC file renamed: its content says what it is
    p.write_bytes(b"\0\0\0\x18ftypmif1" + bytes(100))
    with pytest.raises(ImageDecodeError, match=r"cannot read HEIF: install blindiqa\[formats\]"):
        decode_image_sized(p)


def test_avif_without_pillow_avif_nor_pillow_heif_names_the_extra(tmp_path, no_heif,
                                                                  monkeypatch):
    monkeypatch.setattr(formats, "pillow_reads_avif", lambda: False)
    p = tmp_path / "x.avif"
    p.write_bytes(b"\0\0\0\x18ftypavif" + bytes(100))
    with pytest.raises(ImageDecodeError, match=r"^cannot read AVIF: install blindiqa\[formats\]"):
        decode_image_sized(p)


def test_raw_without_rawpy_is_an_error_row_naming_the_extra(tmp_path, monkeypatch,
                                                            small_model):
    monkeypatch.setitem(sys.modules, "rawpy", None)
    p = tmp_path / "DSC_0001.NEF"
    p.write_bytes(b"II*\0" + bytes(100))
    rec = _score_one(small_model, p)
    assert rec.score is None and rec.width is None
    assert rec.error == f"cannot read NEF (camera raw): {HINT}: {p}"


def test_score_command_writes_the_error_rows_without_the_extra(tmp_path, monkeypatch,
                                                                no_heif, small_model):
    from blindiqa.cli.main import main
    from blindiqa.models.bundle import save_bundle

    monkeypatch.setitem(sys.modules, "rawpy", None)
    model = tmp_path / "small.safetensors"
    save_bundle(model, *small_model.bundle_contents())
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    (shoot / "a.heic").write_bytes(b"\0\0\0\x18ftypheic" + bytes(100))
    (shoot / "b.dng").write_bytes(b"II*\0" + bytes(100))
    out = tmp_path / "scores.csv"
    code = main(["score", str(shoot), "--model", str(model), "--workers", "0", "--quiet",
                 "--out", str(out)])
    with out.open(encoding="utf-8", newline="") as fh:
        rows = {Path(r["path"]).name: r for r in csv.DictReader(fh)}
    assert code == 1 and set(rows) == {"a.heic", "b.dng"}
    assert rows["a.heic"]["error"].startswith(f"cannot read HEIC: {HINT}")
    assert rows["b.dng"]["error"].startswith(f"cannot read DNG (camera raw): {HINT}")
    assert rows["a.heic"]["score"] == rows["b.dng"]["score"] == ""


# ------------------------------------------------------------------ HEIC and AVIF
@pytest.fixture(scope="module")
def heic_file(tmp_path_factory, photo) -> Path:
    pytest.importorskip("pillow_heif")
    assert formats.register_heif()
    p = tmp_path_factory.mktemp("heic") / "IMG_0001.HEIC"
    Image.fromarray(photo).save(p, format="HEIF", quality=95, exif=_exif(6))
    return p


def test_heic_decodes_as_viewed(heic_file, photo):
    pixels, size = decode_image_sized(heic_file, as_uint8=True)
    h, w = photo.shape[:2]
    assert size == (h, w) and tuple(pixels.shape) == (3, w, h)  # turned a quarter
    assert _psnr(_hwc(pixels), _turned(photo)) > 35


def test_heic_scores_as_the_same_photo_in_png(heic_file, photo, tmp_path, small_model):
    png = tmp_path / "same.png"
    Image.fromarray(_turned(photo)).save(png)
    rec, ref = _score_one(small_model, heic_file), _score_one(small_model, png)
    assert rec.error is None and math.isfinite(rec.score)
    assert (rec.width, rec.height) == (ref.width, ref.height)
    assert rec.score == pytest.approx(ref.score, rel=0.05)


def test_avif_decodes_as_viewed_and_scores_as_png(tmp_path, photo, small_model):
    if not formats.pillow_reads_avif():
        pytest.importorskip("pillow_heif")
    p = tmp_path / "x.avif"
    Image.fromarray(photo).save(p, format="AVIF", quality=95, exif=_exif(6))
    pixels, size = decode_image_sized(p, as_uint8=True)
    h, w = photo.shape[:2]
    assert size == (h, w) and tuple(pixels.shape) == (3, w, h)
    assert _psnr(_hwc(pixels), _turned(photo)) > 35
    png = tmp_path / "same.png"
    Image.fromarray(_turned(photo)).save(png)
    rec, ref = _score_one(small_model, p), _score_one(small_model, png)
    assert rec.error is None and rec.score == pytest.approx(ref.score, rel=0.05)


def test_truncated_heic_is_an_error_row_not_a_crash(heic_file, tmp_path, small_model):
    p = tmp_path / "cut.heic"
    p.write_bytes(heic_file.read_bytes()[:400])
    rec = _score_one(small_model, p)
    assert rec.score is None and rec.error is not None and str(p) in rec.error


# ------------------------------------------------------------------ camera raw
def test_dng_is_demosaiced_as_viewed(bayer_dng, tmp_path, photo):
    p = bayer_dng.write_dng(tmp_path / "x.dng", photo, orientation=6)
    out = render_raw(p)
    h, w = photo.shape[:2]
    assert out.source == "demosaic" and out.size == (h, w)
    assert out.pixels.shape == (w, h, 3) and out.pixels.dtype == np.uint8
    # LibRaw's rendering (demosaic, auto brightness) of the written sRGB pixels
    assert _psnr(out.pixels, _turned(photo)) > 29
    means = out.pixels.reshape(-1, 3).mean(0)
    assert np.allclose(means, photo.reshape(-1, 3).mean(0), atol=12)


def test_dng_scores_close_to_the_same_photo_in_png(bayer_dng, tmp_path, photo, small_model):
    p = bayer_dng.write_dng(tmp_path / "x.dng", photo)
    png = tmp_path / "same.png"
    Image.fromarray(photo).save(png)
    rec, ref = _score_one(small_model, p), _score_one(small_model, png)
    assert rec.error is None and math.isfinite(rec.score)
    assert (rec.width, rec.height) == (photo.shape[1], photo.shape[0])
    # a Bayer mosaic keeps a third of the photo's samples: demosaicing it back costs some
    # detail (here about what a 0.7 px Gaussian blur costs), so the scores differ a little
    assert rec.score == pytest.approx(ref.score, rel=0.15)


def test_dng_half_size_when_max_side_allows(bayer_dng, tmp_path, photo):
    p = bayer_dng.write_dng(tmp_path / "x.dng", photo)
    h, w = photo.shape[:2]
    pixels, size = decode_image_sized(p, as_uint8=True, max_side=w // 2)
    assert size == (w, h) and tuple(pixels.shape) == (3, h // 2, w // 2)
    assert render_raw(p, max_side=w // 2).source == "demosaic-half"
    assert render_raw(p, max_side=w // 2 + 1).source == "demosaic"


def test_dng_embedded_preview_is_used_when_large_enough(dng, tmp_path, photo):
    pytest.importorskip("tifffile")
    h, w = photo.shape[:2]
    preview = np.ascontiguousarray(photo[:, ::-1])  # tells the preview from the raw
    p = dng.write_dng_with_preview(tmp_path / "p.dng", photo, preview, orientation=6)
    out = render_raw(p, max_side=w)
    assert out.source == "preview" and out.size == (h, w)
    assert np.array_equal(out.pixels, _turned(preview))
    # the same through the decoder, and the rendering can be forced
    pixels, size = decode_image_sized(p, as_uint8=True)
    assert size == (h, w) and np.array_equal(_hwc(pixels), _turned(preview))
    assert render_raw(p, mode="demosaic").source == "demosaic"


def test_small_preview_falls_back_to_demosaic(dng, tmp_path, photo):
    pytest.importorskip("tifffile")
    small = np.ascontiguousarray(photo[::4, ::4])
    p = dng.write_dng_with_preview(tmp_path / "p.dng", photo, small)
    assert render_raw(p, max_side=0).source == "demosaic"
    assert render_raw(p, max_side=small.shape[1]).source == "preview"


def test_blindiqa_raw_env(dng, tmp_path, photo, monkeypatch):
    pytest.importorskip("tifffile")
    p = dng.write_dng_with_preview(tmp_path / "p.dng", photo, photo)
    monkeypatch.setenv(RAW_ENV, "demosaic")
    assert raw_mode() == "demosaic"
    monkeypatch.setenv(RAW_ENV, "preview-please")
    with pytest.raises(ValueError, match=r"BLINDIQA_RAW must be one of auto, demosaic"):
        raw_mode()
    with pytest.raises(ImageDecodeError, match=r"^BLINDIQA_RAW must be one of .*: .*p\.dng$"):
        decode_image_sized(p)
    with pytest.raises(ValueError, match="raw mode must be one of"):
        render_raw(p, mode="fast")


def test_not_a_raw_file_is_an_error_row(dng, tmp_path, small_model):
    p = tmp_path / "fake.cr2"
    p.write_bytes(b"this is no raw file" * 50)
    rec = _score_one(small_model, p)
    assert rec.score is None
    assert rec.error == f"not a camera raw file LibRaw can read: {p}"


def test_raw_too_large_is_refused_from_the_header(bayer_dng, tmp_path, photo, monkeypatch):
    from blindiqa.io import decode

    p = bayer_dng.write_dng(tmp_path / "x.dng", photo)
    monkeypatch.setattr(decode, "MAX_PIXELS", 1000)
    with pytest.raises(ImageDecodeError, match=r"image too large to decode safely"):
        decode_image_sized(p)


#: A process demosaics, then forks; the child demosaics. Without torch (LibRaw on the
#: OpenMP runtime of rawpy's wheel), then as ``blindiqa score`` does it (torch used in
#: the main process, which decodes a raw file itself, then a DecodePool worker).
_FORK = {"rawpy's OpenMP": """\
import os, sys
from blindiqa.io.raw import render_raw
assert "torch" not in sys.modules
render_raw(sys.argv[1])
pid = os.fork()
if pid == 0:
    render_raw(sys.argv[1])
    os._exit(0)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
""", "a DecodePool worker": """\
import sys, warnings
from pathlib import Path
import torch
from blindiqa.io.workers import DecodePool, decode_uint8_sized
warnings.simplefilter("error")  # rawpy's warning about fork would fail this
x = torch.randn(1000, 1000)
(x @ x).sum()
decode_uint8_sized(Path(sys.argv[1]))
with DecodePool(1, decode=decode_uint8_sized, timeout=50) as pool:
    (got,) = pool.imap([(Path(sys.argv[1]), "x.dng")])
assert got.error is None and got.size == (256, 192), got.error
"""}


@pytest.mark.parametrize("case", sorted(_FORK))
def test_a_process_forked_after_a_demosaic_can_demosaic(bayer_dng, tmp_path, photo, case):
    # GNU OpenMP hangs a child forked after the parent's OpenMP threads ran, unless
    # LibRaw runs with one thread (raw.single_openmp_thread): a decoding worker would hang
    import os
    import subprocess

    p = bayer_dng.write_dng(tmp_path / "x.dng", photo)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                      env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", _FORK[case], str(p)], env=env, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


# ------------------------------------------------- the choice of preview, on a fake raw
class _FakeRaw:
    """A stand-in for ``rawpy.RawPy``: a stored size, a flip and a JPEG preview."""

    def __init__(self, stored: tuple[int, int], flip: int, preview: Image.Image | None):
        self.sizes = SimpleNamespace(width=stored[0], height=stored[1], flip=flip)
        self._preview = preview
        self.postprocessed: list[bool] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def extract_thumb(self):
        rawpy = _rawpy()

        if self._preview is None:
            raise rawpy.LibRawNoThumbnailError("none")
        buf = io.BytesIO()
        self._preview.save(buf, format="JPEG", quality=95)
        return SimpleNamespace(format=rawpy.ThumbFormat.JPEG, data=buf.getvalue())

    def postprocess(self, *, use_camera_wb, half_size, output_bps, gamma):
        assert use_camera_wb and output_bps == 8 and gamma == (2.4, 12.92)
        self.postprocessed.append(half_size)
        w, h = self.sizes.width // (2 if half_size else 1), self.sizes.height // (
            2 if half_size else 1)
        return np.zeros((h, w, 3), np.uint8)


@pytest.mark.parametrize(("flip", "turn"), [(0, 0), (3, 2), (5, 1), (6, -1)])
def test_jpeg_preview_is_turned_as_the_raw_says(monkeypatch, flip, turn):
    rawpy = _rawpy()
    # a preview with a bright top-left corner, so that each turn shows
    arr = np.zeros((300, 400, 3), np.uint8)
    arr[:60, :60] = 255
    fake = _FakeRaw((4000, 3000), flip, Image.fromarray(arr))
    monkeypatch.setattr(rawpy, "imread", lambda path: fake)
    out = render_raw("x.nef", max_side=400)
    assert out.source == "preview" and fake.postprocessed == []
    assert out.size == ((3000, 4000) if flip in (5, 6) else (4000, 3000))
    want = np.rot90(arr, turn)
    assert out.pixels.shape == want.shape
    assert out.pixels[..., 0][want[..., 0] == 255].mean() > 200


def test_jpeg_preview_too_small_or_of_another_shape_is_not_used(monkeypatch):
    rawpy = _rawpy()
    small = Image.new("RGB", (160, 120), (90, 90, 90))
    fake = _FakeRaw((4000, 3000), 0, small)
    monkeypatch.setattr(rawpy, "imread", lambda path: fake)
    assert render_raw("x.nef", max_side=1024).source == "demosaic-half"
    assert fake.postprocessed == [True]
    assert render_raw("x.nef", max_side=160).source == "preview"
    fake = _FakeRaw((4000, 3000), 0, Image.new("RGB", (1920, 1080)))  # 16:9 of a 4:3 raw
    monkeypatch.setattr(rawpy, "imread", lambda path: fake)
    assert render_raw("x.nef", max_side=1024).source == "demosaic-half"
    fake = _FakeRaw((4000, 3000), 0, None)
    monkeypatch.setattr(rawpy, "imread", lambda path: fake)
    assert render_raw("x.nef", max_side=0).source == "demosaic"
    assert fake.postprocessed == [False]
