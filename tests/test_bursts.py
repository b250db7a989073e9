"""Bursts: EXIF capture times (missing and garbled tags too), the thumbnail descriptor,
grouping consecutive shots by time or content, and the best shot of each burst."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

from blindiqa.bursts import (
    EXIF_IFD,
    best_of_bursts,
    burst_sizes,
    capture_time,
    check_thresholds,
    cosine_distance,
    exif_time,
    file_feature,
    group_bursts,
    group_files,
    natural_key,
    parse_exif_time,
    shooting_order,
    thumbnail_feature,
)

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def save_with_time(path, image: Image.Image, stamp: str | None, subsec: str | None = None,
                   offset: str | None = None) -> None:
    exif = Image.Exif()
    sub = exif.get_ifd(EXIF_IFD)
    if stamp is not None:
        sub[0x9003] = stamp
    if subsec is not None:
        sub[0x9291] = subsec
    if offset is not None:
        sub[0x9011] = offset
    image.save(path, exif=exif)


def scene(seed: int, size=(96, 64)) -> np.ndarray:
    """A smooth random scene (uint8 HxWx3): different seeds, different content."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize(size, Image.BICUBIC))


@pytest.mark.parametrize(("text", "subsec", "offset", "expected"), [
    ("2026:05:01 12:00:00", None, None, T0),
    ("2026:05:01 12:00:00", "25", None, T0 + 0.25),
    ("2026:05:01 12:00:00", "007", None, T0 + 0.007),
    ("2026-05-01 12:00:00", None, None, T0),
    ("2026:05:01T12:00:00", None, None, T0),
    (b"2026:05:01 12:00:00\x00", b"5", None, T0 + 0.5),
    ("2026:05:01 14:00:00", None, "+02:00", T0),
    ("2026:05:01 07:30:00", None, "-04:30", T0),
    ("2026:05:01 12:00:00", "ab", "garbled", T0),  # a bad fraction or offset is ignored
])
def test_parse_exif_time(text, subsec, offset, expected):
    assert parse_exif_time(text, subsec, offset) == pytest.approx(expected)


@pytest.mark.parametrize("text", [None, "", "   ", "0000:00:00 00:00:00", "2026:13:01 12:00:00",
                                  "2026:05:01 25:00:00", "yesterday", "2026:05:01", 20260501,
                                  b"\xff\xfe"])
def test_parse_exif_time_missing_or_garbled_is_none(text):
    assert parse_exif_time(text) is None


def test_capture_time_from_a_file(tmp_path):
    image = Image.fromarray(scene(0))
    save_with_time(tmp_path / "a.jpg", image, "2026:05:01 12:00:00", "5")
    assert capture_time(tmp_path / "a.jpg") == pytest.approx(T0 + 0.5)
    image.save(tmp_path / "none.jpg")
    assert capture_time(tmp_path / "none.jpg") is None
    save_with_time(tmp_path / "garbled.jpg", image, "not a date")
    assert capture_time(tmp_path / "garbled.jpg") is None
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really")
    assert capture_time(tmp_path / "bad.jpg") is None
    assert capture_time(tmp_path / "missing.jpg") is None


def test_exif_time_falls_back_to_digitized_then_datetime():
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[0x9004] = "2026:05:01 12:00:01"
    exif[0x0132] = "2026:05:01 12:00:09"
    assert exif_time(exif) == pytest.approx(T0 + 1)
    only = Image.Exif()
    only[0x0132] = "2026:05:01 12:00:09"
    assert exif_time(only) == pytest.approx(T0 + 9)
    assert exif_time(Image.Exif()) is None


def test_thumbnail_feature_ignores_exposure_but_not_content():
    a = scene(1)
    f = thumbnail_feature(Image.fromarray(a))
    assert f.shape == (3 * 16 * 16,)
    assert np.linalg.norm(f) == pytest.approx(1)
    darker = (a * 0.7 + 20).astype(np.uint8)
    assert cosine_distance(f, thumbnail_feature(Image.fromarray(darker))) < 0.01
    cropped = Image.fromarray(a).crop((2, 1, 94, 63))  # ~2 % of each side
    assert cosine_distance(f, thumbnail_feature(cropped)) < 0.1
    assert cosine_distance(f, thumbnail_feature(Image.fromarray(scene(2)))) > 0.5
    flat = thumbnail_feature(Image.new("RGB", (20, 20), (80, 80, 80)))
    assert not flat.any()
    assert cosine_distance(flat, f) == 1.0
    with pytest.raises(ValueError, match="side must be at least 1"):
        thumbnail_feature(Image.fromarray(a), side=0)


def test_file_feature(tmp_path):
    Image.fromarray(scene(3)).save(tmp_path / "a.png")
    assert file_feature(tmp_path / "a.png").shape == (768,)
    (tmp_path / "bad.png").write_bytes(b"nope")
    assert file_feature(tmp_path / "bad.png") is None


def test_natural_order_and_shooting_order():
    names = ["IMG_10.jpg", "IMG_9.jpg", "IMG_100.jpg", "a.jpg"]
    assert sorted(names, key=natural_key) == ["IMG_9.jpg", "IMG_10.jpg", "IMG_100.jpg",
                                              "a.jpg"]
    assert shooting_order(["b", "a", "c"], [3.0, 2.0, 1.0]) == [2, 1, 0]  # by time
    assert shooting_order(["b", "a", "c"], [3.0, None, 1.0]) == [1, 0, 2]  # by name
    with pytest.raises(ValueError, match="3 names but 2 times"):
        shooting_order(["a", "b", "c"], [1.0, 2.0])


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=float)
    return v / np.linalg.norm(v)


def test_group_by_time_only():
    names = ["p1", "p2", "p3", "p4", "p5"]
    times = [0.0, 0.5, 1.2, 10.0, 11.0]
    feats = [None] * 5
    assert group_bursts(names, times, feats, seconds=2, join_by="time") == [1, 1, 1, 2, 2]
    # single linkage along the sequence: 0 -> 1.5 -> 3.0 chain into one burst
    assert group_bursts(names[:3], [0.0, 1.5, 3.0], feats[:3], seconds=2) == [1, 1, 1]
    assert group_bursts(names, times, feats, seconds=0.6, join_by="time") == [1, 1, 2, 3, 4]


def test_group_by_features_only_follows_the_name_order():
    a, a2, b, b2 = unit(1, 0, 0), unit(1, 0.1, 0), unit(0, 1, 0), unit(0.05, 1, 0)
    names = ["IMG_3", "IMG_1", "IMG_2", "IMG_10"]
    feats = [b, a, a2, b2]
    # order IMG_1, IMG_2, IMG_3, IMG_10: a, a2 | b, b2
    assert group_bursts(names, [None] * 4, feats, max_distance=0.1,
                        join_by="features") == [2, 1, 1, 2]
    assert group_bursts(names, [None] * 4, feats, max_distance=0.0,
                        join_by="features") == [3, 1, 2, 4]


def test_group_by_either_and_unknowns():
    a, b, c = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)
    names = ["1", "2", "3", "4"]
    times = [0.0, 1.0, 30.0, 60.0]
    feats = [a, b, b, c]
    # 1-2 by time, 2-3 by content, 3-4 by neither
    assert group_bursts(names, times, feats, seconds=2, max_distance=0.1) == [1, 1, 1, 2]
    assert group_bursts(names, times, feats, join_by="time") == [1, 1, 2, 3]
    assert group_bursts(names, times, feats, join_by="features") == [1, 2, 2, 3]
    # both: time and content; content alone where a time is missing
    assert group_bursts(names, [0.0, 1.0, 2.0, 3.0], [a, a, b, b],
                        join_by="both") == [1, 1, 2, 2]
    assert group_bursts(names, [0.0, 1.0, 30.0, 31.0], [a, a, a, a],
                        join_by="both") == [1, 1, 2, 2]
    assert group_bursts(names, [0.0, None, 30.0, None], [a, a, a, b],
                        join_by="both") == [1, 1, 1, 2]
    # a shot without time or descriptor stands alone unless a neighbour's time joins it
    assert group_bursts(names, [0.0, None, 1.0, None], [a, None, a, None]) == [1, 2, 3, 4]
    assert group_bursts([], [], []) == []


def test_group_bursts_validates():
    with pytest.raises(ValueError, match="2 names but 1 features"):
        group_bursts(["a", "b"], [None, None], [None])
    with pytest.raises(ValueError, match="burst seconds must be a number >= 0"):
        check_thresholds(-1, 0.1, "either")
    with pytest.raises(ValueError, match="burst seconds"):
        check_thresholds(float("nan"), 0.1, "either")
    with pytest.raises(ValueError, match="between 0 and 2"):
        check_thresholds(1, 3, "either")
    with pytest.raises(ValueError, match="join_by must be one of"):
        group_bursts(["a"], [None], [None], join_by="colour")


def test_best_of_bursts_and_sizes():
    bursts = [1, 1, 1, 2, 3, 3]
    quality = [40.0, 70.0, 70.0, None, None, 10.0]
    assert best_of_bursts(bursts, quality) == [False, True, False, False, False, True]
    assert burst_sizes(bursts) == [3, 3, 3, 1, 2, 2]
    assert best_of_bursts([1, 1], [float("nan"), 5.0]) == [False, True]
    with pytest.raises(ValueError, match="2 bursts but 1 values"):
        best_of_bursts([1, 1], [1.0])


def test_group_files_reads_times_and_content(tmp_path):
    # two bursts of the same scene 20 s apart, then another scene 1 s later
    paths = []
    shots = [(scene(5), "12:00:00"), (scene(5), "12:00:01"), (scene(5), "12:00:21"),
             (scene(6), "12:00:22")]
    for i, (pixels, clock) in enumerate(shots):
        paths.append(tmp_path / f"IMG_{i}.jpg")
        save_with_time(paths[-1], Image.fromarray(pixels), f"2026:05:01 {clock}")
    assert group_files(paths, join_by="time") == [1, 1, 2, 2]
    assert group_files(paths, join_by="features") == [1, 1, 1, 2]
    assert group_files(paths, seconds=0.5) == [1, 1, 1, 2]
    with pytest.raises(ValueError, match="4 paths but 1 names"):
        group_files(paths, ["x"])


def test_an_unreadable_file_is_a_burst_of_its_own_after_the_others(tmp_path):
    # times give the order IMG_2, IMG_1; a broken file must not switch it to names
    save_with_time(tmp_path / "IMG_1.jpg", Image.fromarray(scene(7)), "2026:05:01 12:00:30")
    save_with_time(tmp_path / "IMG_2.jpg", Image.fromarray(scene(8)), "2026:05:01 12:00:00")
    (tmp_path / "IMG_0.jpg").write_bytes(b"\xff\xd8 broken")
    paths = [tmp_path / n for n in ("IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg")]
    for by in ("either", "both", "time", "features"):
        assert group_files(paths, join_by=by) == [3, 2, 1]


def test_heic_shots_join_their_burst(tmp_path):
    pytest.importorskip("pillow_heif")
    from blindiqa.io import formats

    assert formats.register_heif()
    a, b = scene(0), scene(5)
    save_with_time(tmp_path / "IMG_0001.JPG", Image.fromarray(a), "2026:05:01 12:00:00")
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[0x9003] = "2026:05:01 12:00:01"
    Image.fromarray(a).save(tmp_path / "IMG_0002.HEIC", format="HEIF", quality=90, exif=exif)
    save_with_time(tmp_path / "IMG_0003.JPG", Image.fromarray(b), "2026:05:01 12:01:00")
    paths = sorted(tmp_path.iterdir())
    assert capture_time(paths[1]) == pytest.approx(T0 + 1)
    assert group_files(paths, join_by="time") == [1, 1, 2]
    assert group_files(paths, join_by="features") == [1, 1, 2]


def test_a_raw_shot_is_read_from_its_rendering(tmp_path, load_benchmark):
    pytest.importorskip("rawpy")
    pytest.importorskip("tifffile")
    dng = load_benchmark("decode_formats")
    a = scene(0, size=(192, 128))
    raw = dng.write_dng_with_preview(tmp_path / "IMG_0002.DNG", a, a)
    Image.fromarray(a).save(tmp_path / "IMG_0001.PNG")
    Image.fromarray(scene(5, size=(192, 128))).save(tmp_path / "IMG_0003.PNG")
    feature = file_feature(tmp_path / "IMG_0001.PNG")
    from blindiqa.bursts import read_shot

    ok, when, got = read_shot(raw)
    assert ok and when is None  # this DNG carries no capture time
    assert cosine_distance(feature, got) < 0.01
    paths = sorted(tmp_path.iterdir())
    assert group_files(paths, join_by="features") == [1, 1, 2]
    assert read_shot(tmp_path / "nothing.NEF") == (False, None, None)
