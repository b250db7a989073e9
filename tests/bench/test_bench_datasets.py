"""Dataset loaders on tiny fake trees in each official layout."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from bench_helpers import write_csv, write_image
from scipy.io import savemat

from blindiqa.bench.datasets import (
    LAYOUTS,
    Dataset,
    DatasetItem,
    detect_layout,
    load_biq2021,
    load_clive,
    load_dataset,
)

HAVE_OPENPYXL = importlib.util.find_spec("openpyxl") is not None


# --------------------------------------------------------------------------- generic
def test_generic_layout(generic_tree: Path) -> None:
    ds = load_dataset(generic_tree, name="tiny")
    assert ds.layout == "generic" and ds.name == "tiny" and len(ds) == 8
    first = ds.items[0]
    assert first == DatasetItem(generic_tree / "images" / "img0.png", "img0.png", 10.0, 5.0)


def test_generic_name_defaults_to_folder(generic_tree: Path) -> None:
    assert load_dataset(generic_tree).name == "tiny"


def test_generic_without_std(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png")
    write_csv(tmp_path / "mos.csv", ["image", "mos"], [["a.png", 3.5]])
    (item,) = load_dataset(tmp_path).items
    assert item.mos == 3.5 and item.mos_std is None


def test_generic_semicolon_and_bom(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png")
    (tmp_path / "mos.csv").write_text("\ufeffimage;mos\na.png;7\n", encoding="utf-8")
    assert load_dataset(tmp_path).items[0].mos == 7.0


def test_generic_missing_column(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png")
    write_csv(tmp_path / "mos.csv", ["image", "score"], [["a.png", 3]])
    with pytest.raises(ValueError, match="lacks the column.*'mos'"):
        load_dataset(tmp_path)


def test_generic_missing_image(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png")
    write_csv(tmp_path / "mos.csv", ["image", "mos"], [["a.png", 1], ["gone.png", 2]])
    with pytest.raises(ValueError, match="1 of the 2 images.*missing.*gone.png"):
        load_dataset(tmp_path)


def test_generic_bad_mos(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png")
    write_csv(tmp_path / "mos.csv", ["image", "mos"], [["a.png", "n/a"]])
    with pytest.raises(ValueError, match="row 2.*not a number"):
        load_dataset(tmp_path)


def test_unknown_layout(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    with pytest.raises(ValueError, match="unknown dataset layout.*generic"):
        load_dataset(tmp_path)


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        load_dataset(tmp_path / "nope")


def test_forced_unknown_layout(generic_tree: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset layout 'zzz'"):
        load_dataset(generic_tree, layout="zzz")


def test_duplicate_names_rejected() -> None:
    item = DatasetItem(Path("a.png"), "a.png", 1.0)
    with pytest.raises(ValueError, match="listed twice"):
        Dataset("d", [item, item])


def test_head(generic_tree: Path) -> None:
    ds = load_dataset(generic_tree)
    assert [it.name for it in ds.head(2).items] == ["img0.png", "img1.png"]
    assert ds.head(None) is ds


def test_layout_registry_order() -> None:
    assert list(LAYOUTS)[-1] == "generic"
    assert {"clive", "koniq", "spaq", "flive", "cid2013", "biq2021"} <= set(LAYOUTS)


# --------------------------------------------------------------------------- CLIVE
def _clive_tree(root: Path, n_test: int = 3) -> Path:
    names = [f"t{i}.bmp" for i in range(1, 8)] + [f"{100 + i}.JPG" for i in range(n_test)]
    for n in names[:7]:
        write_image(root / "Images" / "trainingImages" / n.replace(".bmp", ".png"), 90)
        (root / "Images" / "trainingImages" / n.replace(".bmp", ".png")).rename(
            root / "Images" / "trainingImages" / n)
    for i, n in enumerate(names[7:]):
        write_image(root / "Images" / n, 60 + 40 * i)
    data = root / "Data"
    data.mkdir(parents=True)
    cells = np.empty((len(names), 1), dtype=object)
    for i, n in enumerate(names):
        cells[i, 0] = n
    savemat(data / "AllImages_release.mat", {"AllImages_release": cells})
    savemat(data / "AllMOS_release.mat",
            {"AllMOS_release": np.arange(len(names), dtype=float)[None, :] * 10})
    savemat(data / "AllStdDev_release.mat",
            {"AllStdDev_release": np.full((1, len(names)), 12.5)})
    return root


def test_clive_drops_the_7_training_images(tmp_path: Path) -> None:
    root = _clive_tree(tmp_path / "ChallengeDB_release")
    ds = load_dataset(root, name="clive")
    assert ds.layout == "clive"
    assert [it.name for it in ds.items] == ["100.JPG", "101.JPG", "102.JPG"]
    assert [it.mos for it in ds.items] == [70.0, 80.0, 90.0]
    assert all(it.mos_std == 12.5 for it in ds.items)
    assert ds.items[0].path == root / "Images" / "100.JPG"


def test_clive_detected_in_subfolder(tmp_path: Path) -> None:
    _clive_tree(tmp_path / "ChallengeDB_release")
    layout, folder = detect_layout(tmp_path)
    assert layout == "clive" and folder == tmp_path / "ChallengeDB_release"


def test_clive_include_training(tmp_path: Path) -> None:
    root = _clive_tree(tmp_path)
    ds = load_clive(root, include_training=True)
    assert len(ds) == 10
    assert ds.items[0].path == root / "Images" / "trainingImages" / "t1.bmp"


def test_clive_length_mismatch(tmp_path: Path) -> None:
    root = _clive_tree(tmp_path)
    savemat(root / "Data" / "AllMOS_release.mat", {"AllMOS_release": np.ones((1, 4))})
    with pytest.raises(ValueError, match="10 image names but 4 MOS"):
        load_dataset(root)


def test_clive_wrong_variable(tmp_path: Path) -> None:
    root = _clive_tree(tmp_path)
    savemat(root / "Data" / "AllMOS_release.mat", {"mos": np.ones((1, 10))})
    with pytest.raises(ValueError, match="no variable 'AllMOS_release'"):
        load_dataset(root)


# --------------------------------------------------------------------------- KonIQ
def test_koniq(tmp_path: Path) -> None:
    header = ["image_name", "c1", "c2", "c3", "c4", "c5", "c_total", "MOS", "SD", "MOS_zscore"]
    rows = []
    for i, mos in enumerate([1.5, 3.25, 4.0]):
        name = f"{826373 + i}.jpg"
        write_image(tmp_path / "1024x768" / name, 50 + 50 * i)
        rows.append([name, 1, 2, 3, 4, 5, 15, mos, 0.5, 50 + i])
    write_csv(tmp_path / "koniq10k_scores_and_distributions.csv", header, rows)
    ds = load_dataset(tmp_path, name="koniq")
    assert ds.layout == "koniq"
    assert [(it.name, it.mos, it.mos_std) for it in ds.items] == [
        ("826373.jpg", 1.5, 0.5), ("826374.jpg", 3.25, 0.5), ("826375.jpg", 4.0, 0.5)]


def test_koniq_missing_mos_column(tmp_path: Path) -> None:
    write_image(tmp_path / "1024x768" / "1.jpg")
    write_csv(tmp_path / "koniq10k_scores_and_distributions.csv",
              ["image_name", "MOS_zscore"], [["1.jpg", 40]])
    with pytest.raises(ValueError, match="'MOS'"):
        load_dataset(tmp_path)


# --------------------------------------------------------------------------- SPAQ
SPAQ_HEADER = ["Image name", "MOS", "Brightness", "Colorfulness", "Contrast", "Noisiness",
               "Sharpness"]


def _spaq_images(root: Path) -> list[list]:
    rows = []
    for i, mos in enumerate([48.86, 62.5]):
        name = f"{i + 1:05d}.jpg"
        write_image(root / "TestImage" / name, 80 + 60 * i)
        rows.append([name, mos, 1, 2, 3, 4, 5])
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    return rows


def test_spaq_csv_export(tmp_path: Path) -> None:
    rows = _spaq_images(tmp_path)
    write_csv(tmp_path / "Annotations" / "MOS and Image attribute scores.csv", SPAQ_HEADER, rows)
    ds = load_dataset(tmp_path)
    assert ds.layout == "spaq"
    assert [(it.name, it.mos) for it in ds.items] == [("00001.jpg", 48.86), ("00002.jpg", 62.5)]


@pytest.mark.skipif(HAVE_OPENPYXL, reason="checks the message shown without openpyxl")
def test_spaq_xlsx_without_openpyxl(tmp_path: Path) -> None:
    _spaq_images(tmp_path)
    (tmp_path / "Annotations" / "MOS and Image attribute scores.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match="openpyxl"):
        load_dataset(tmp_path)


def test_spaq_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = _spaq_images(tmp_path)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(SPAQ_HEADER)
    for r in rows:
        sheet.append(r)
    book.save(tmp_path / "Annotations" / "MOS and Image attribute scores.xlsx")
    ds = load_dataset(tmp_path)
    assert [(it.name, it.mos) for it in ds.items] == [("00001.jpg", 48.86), ("00002.jpg", 62.5)]


# --------------------------------------------------------------------------- FLIVE
def test_flive(tmp_path: Path) -> None:
    db = tmp_path / "database"
    names = ["voc_emotic_ava/AVA__129332.jpg", "blur_dataset/motion0044.jpg", "EE371R/rq59.jpg"]
    for i, n in enumerate(names):
        write_image(db / n, 40 + 70 * i)
    write_csv(db / "labels_image.csv", ["name", "mos"],
              [[n, 60.5 + i] for i, n in enumerate(names)])
    write_csv(db / "labels_patch.csv", ["name", "mos"], [["patches/x.jpg", 1]])
    ds = load_dataset(tmp_path, name="flive")
    assert ds.layout == "flive"
    assert [it.name for it in ds.items] == names
    assert ds.items[1].path == db / "blur_dataset" / "motion0044.jpg"
    assert ds.items[2].mos == 62.5


def test_flive_labels640(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "voc_emotic_ava" / "a.jpg")
    write_csv(tmp_path / "labels640.csv", ["mos_patch_1", "name_image", "mos_image"],
              [[1, "voc_emotic_ava/a.jpg", 59.6]])
    (item,) = load_dataset(tmp_path).items
    assert item.mos == 59.6 and item.path == tmp_path / "images" / "voc_emotic_ava" / "a.jpg"


# --------------------------------------------------------------------------- CID2013
def _cid_tree(root: Path) -> list[list]:
    ids = ["IS_I_C01_D01", "IS_I_C01_D02", "IS_II_C03_D01", "IS_V_C08_D02"]
    folders = ["IS1/co1", "IS1/co1", "IS2/co3", "IS5/co8"]
    rows = []
    for i, (sid, folder) in enumerate(zip(ids, folders, strict=True)):
        write_image(root / folder / f"{sid}.jpg", 30 + 50 * i)
        rows.append([i + 1, sid, 3.34 + i, 10.0 * i, 1, 2])
    return rows


CID_HEADER = ["Index", "Source_ID", "Image set specific  MOS", "Realigned MOS",
              "Sharpness", "Graininess"]


def test_cid2013_csv(tmp_path: Path) -> None:
    rows = _cid_tree(tmp_path)
    write_csv(tmp_path / "CID2013 data - version 12112014.csv", CID_HEADER, rows)
    ds = load_dataset(tmp_path, name="cid")
    assert ds.layout == "cid2013"
    assert [it.name for it in ds.items] == [
        "IS1/co1/IS_I_C01_D01.jpg", "IS1/co1/IS_I_C01_D02.jpg", "IS2/co3/IS_II_C03_D01.jpg",
        "IS5/co8/IS_V_C08_D02.jpg"]
    assert [it.mos for it in ds.items] == [0.0, 10.0, 20.0, 30.0]  # the realigned MOS


def test_cid2013_missing_image(tmp_path: Path) -> None:
    rows = _cid_tree(tmp_path)
    rows.append([9, "IS_VI_C01_D01", 1, 2, 3, 4])
    write_csv(tmp_path / "CID2013 data - version 12112014.csv", CID_HEADER, rows)
    with pytest.raises(ValueError, match="missing.*IS_VI_C01_D01"):
        load_dataset(tmp_path)


def test_cid2013_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = _cid_tree(tmp_path)
    book = openpyxl.Workbook()
    book.active.title = "Readme"
    sheet = book.create_sheet("CID2013 MOS")
    sheet.append(["CID2013 subjective data"])  # a title row above the header
    sheet.append(CID_HEADER)
    for r in rows:
        sheet.append(r)
    book.save(tmp_path / "CID2013 data - version 12112014.xlsx")
    ds = load_dataset(tmp_path)
    assert [it.mos for it in ds.items] == [0.0, 10.0, 20.0, 30.0]


# --------------------------------------------------------------------------- BIQ2021
def _biq_tree(root: Path) -> None:
    for i, n in enumerate(["ss01 (1).jpg", "ss02 (7).jpg", "ss03 (954).jpg"]):
        write_image(root / "Images" / n, 60 + 60 * i)
    write_csv(root / "Train.csv", ["Image Name", "MOS"], [["ss01 (1).jpg", 0.47013],
                                                         ["ss02 (7).jpg", 0.1853]])
    write_csv(root / "Test.csv", ["Image Name", "MOS"], [["ss03 (954).jpg", 0.61122]])


def test_biq2021_all_and_splits(tmp_path: Path) -> None:
    _biq_tree(tmp_path)
    ds = load_dataset(tmp_path)
    assert ds.layout == "biq2021"
    assert [it.name for it in ds.items] == ["ss01 (1).jpg", "ss02 (7).jpg", "ss03 (954).jpg"]
    assert [it.name for it in load_biq2021(tmp_path, split="test").items] == ["ss03 (954).jpg"]
    with pytest.raises(ValueError, match="split"):
        load_biq2021(tmp_path, split="val")


def test_biq2021_old_file_names(tmp_path: Path) -> None:
    write_image(tmp_path / "Images" / "ss03 (1).jpg")
    write_csv(tmp_path / "Test (Images and MOS).csv", ["Image Name", "MOS"],
              [["ss03 (1).jpg", 0.7321]])
    assert load_dataset(tmp_path).items[0].mos == 0.7321


# --------------------------------------------------------------------------- shared data
def test_clive_dev_is_generic(shared_data: Path) -> None:
    ds = load_dataset(shared_data / "clive-dev", name="clive")
    assert ds.layout == "generic" and len(ds) == 581
    assert all(it.mos_std is not None and 0 <= it.mos <= 100 for it in ds.items)
