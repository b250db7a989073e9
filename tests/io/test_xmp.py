"""XMP sidecars: naming, a new sidecar, merging into an existing one (every other field
kept), the photo untouched, bad sidecars refused, the missing extra named, and the rating
read back by a real reader (exiftool)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blindiqa.io.xmp import (
    MissingXmpExtraError,
    XmpError,
    read_rating,
    require_pyexiv2,
    sidecar_path,
    write_rating,
)


@pytest.fixture
def exiv2():
    """pyexiv2 (the tests that write sidecars skip without it)."""
    return pytest.importorskip("pyexiv2", reason="pyexiv2 missing: pip install 'blindiqa[xmp]'")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small JPEG photo."""
    from PIL import Image

    p = tmp_path / "photo.jpg"
    Image.new("RGB", (32, 24), (90, 120, 150)).save(p)
    return p


def test_sidecar_names(tmp_path):
    assert sidecar_path("a/photo.jpg") == Path("a/photo.jpg.xmp")
    assert sidecar_path("a/photo.jpg", "stem") == Path("a/photo.xmp")
    assert sidecar_path("photo.tar.NEF", "stem") == Path("photo.tar.xmp")
    with pytest.raises(ValueError, match="unknown sidecar naming 'dot'"):
        sidecar_path("photo.jpg", "dot")


def test_a_new_sidecar_gets_the_rating_and_the_photo_is_untouched(photo, exiv2, read_xmp):
    before, mtime = photo.read_bytes(), photo.stat().st_mtime_ns
    sidecar = sidecar_path(photo)
    assert read_rating(sidecar) is None
    write_rating(sidecar, 4)
    assert read_rating(sidecar) == 4
    assert read_xmp(sidecar) == {"Xmp.xmp.Rating": "4"}
    assert photo.read_bytes() == before and photo.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in photo.parent.iterdir()) == ["photo.jpg", "photo.jpg.xmp"]


def test_an_existing_sidecar_is_merged_and_keeps_every_other_field(photo, exiv2, read_xmp,
                                                                   xmp_other_fields):
    sidecar = sidecar_path(photo)
    sidecar.write_text(xmp_other_fields, encoding="utf-8")
    old = read_xmp(sidecar)
    assert old["Xmp.xmp.Rating"] == "1"
    write_rating(sidecar, 5)
    new = read_xmp(sidecar)
    assert new["Xmp.xmp.Rating"] == "5"
    assert {k: v for k, v in new.items() if k != "Xmp.xmp.Rating"} == \
        {k: v for k, v in old.items() if k != "Xmp.xmp.Rating"}
    assert new["Xmp.dc.subject"] == ["holiday", "beach"]
    assert new["Xmp.xmp.Label"] == "Red"
    assert new["Xmp.darktable.history[1]/darktable:operation"] == "exposure"
    assert new["Xmp.lr.hierarchicalSubject"] == ["places|beach"]


def test_a_sidecar_that_is_not_xmp_is_refused_and_left_as_it_is(photo, exiv2):
    sidecar = sidecar_path(photo)
    sidecar.write_bytes(b"not xmp at all")
    with pytest.raises(XmpError, match="not an XMP sidecar"):
        write_rating(sidecar, 3)
    with pytest.raises(XmpError, match="not an XMP sidecar"):
        read_rating(sidecar)
    assert sidecar.read_bytes() == b"not xmp at all"


@pytest.mark.parametrize("rating", [6, -2, 2.5, True])
def test_a_rating_outside_minus_one_to_five_is_refused(photo, rating):
    with pytest.raises(ValueError, match="integer from -1 to 5"):
        write_rating(sidecar_path(photo), rating)
    assert not sidecar_path(photo).exists()


def test_the_missing_extra_is_named(monkeypatch, photo):
    monkeypatch.setitem(sys.modules, "pyexiv2", None)  # import pyexiv2 -> ImportError
    with pytest.raises(MissingXmpExtraError, match=r"pip install 'blindiqa\[xmp\]'"):
        require_pyexiv2()
    with pytest.raises(MissingXmpExtraError, match=r"blindiqa\[xmp\]"):
        write_rating(sidecar_path(photo), 3)


def exiftool_rating(path: Path) -> str:
    """``xmp:Rating`` as Debian's exiftool reads it (skips where it is missing)."""
    exe = shutil.which("exiftool")
    if exe is None:
        pytest.skip("exiftool missing (Debian: apt-get install libimage-exiftool-perl; "
                    ".ci/run installs it)")
    out = subprocess.run([exe, "-s3", "-XMP-xmp:Rating", str(path)], capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_exiftool_reads_the_rating_back(photo, exiv2, xmp_other_fields):
    sidecar = sidecar_path(photo)
    write_rating(sidecar, 3)
    assert exiftool_rating(sidecar) == "3"
    merged = sidecar_path(photo, "stem")
    merged.write_text(xmp_other_fields, encoding="utf-8")
    write_rating(merged, 5)
    assert exiftool_rating(merged) == "5"
    keywords = subprocess.run([shutil.which("exiftool"), "-s3", "-XMP-dc:Subject",
                               "-XMP-xmp:Label", str(merged)], capture_output=True,
                              text=True, check=True).stdout.split("\n")
    assert keywords[:2] == ["holiday, beach", "Red"]
