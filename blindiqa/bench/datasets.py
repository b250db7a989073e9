"""Benchmark datasets: images with their mean opinion scores (MOS), read from the layout
a dataset is distributed in.

Every loader returns a :class:`Dataset`, an ordered list of
``(image path, display name, mos, mos_std)`` items. The layout of a folder is detected
from the files in it (:func:`detect_layout`); :func:`load_dataset` is the entry point.

Layouts (``LAYOUTS``, in detection order; facts about each official release are cited in
its loader's docstring):

* ``clive``   -- LIVE In the Wild Challenge (``ChallengeDB_release``).
* ``koniq``   -- KonIQ-10k.
* ``spaq``    -- SPAQ (smartphone photography).
* ``flive``   -- FLIVE / LIVE-FB (PaQ-2-PiQ).
* ``cid2013`` -- CID2013 camera image database.
* ``biq2021`` -- BIQ2021.
* ``generic`` -- ``ROOT/images/`` and ``ROOT/mos.csv`` with columns ``image,mos`` and an
  optional ``mos_std`` (the layout of ``shared/data/clive-dev``).

Since the scorers are opinion-unaware (nothing is trained on any of these sets), a
loader returns *every* labelled image of a release, train and test splits alike, except
where the release itself sets images apart (the 7 CLIVE training images).

MOS direction: every set listed here has higher MOS = better quality, while blindiqa
scores are distances (lower = better); see :mod:`blindiqa.bench.metrics`.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

#: Columns of a table: name -> cell text / value. Keys are the header as written.
Row = dict[str, Any]


class DatasetItem(NamedTuple):
    """One labelled image.

    Attributes:
        path: the image file.
        name: the name reported in score files (unique within its dataset).
        mos: mean opinion score (higher = better for every supported set).
        mos_std: standard deviation of the opinion scores, where the release gives it.
    """

    path: Path
    name: str
    mos: float
    mos_std: float | None = None


@dataclass
class Dataset:
    """An ordered list of labelled images.

    Attributes:
        name: the dataset's name (e.g. the ``NAME`` of ``--dataset NAME=ROOT``).
        items: the images in the release's order; display names are unique.
        layout: the layout it was read from (a key of :data:`LAYOUTS`).
        root: the folder it was read from.
    """

    name: str
    items: list[DatasetItem]
    layout: str = "generic"
    root: Path | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for item in self.items:
            if item.name in seen:
                raise ValueError(f"dataset {self.name!r}: image {item.name!r} is listed twice")
            seen.add(item.name)

    def __len__(self) -> int:
        return len(self.items)

    def head(self, limit: int | None) -> Dataset:
        """The first ``limit`` items (all of them when ``limit`` is None)."""
        if limit is None:
            return self
        return Dataset(self.name, self.items[:limit], self.layout, self.root)


# ------------------------------------------------------------------------ table reading
def _norm(label: str) -> str:
    """Header key for matching: case- and whitespace-insensitive."""
    return re.sub(r"[\s_]+", " ", str(label)).strip().lower()


def find_column(header: Iterable[str], *candidates: str) -> str | None:
    """The header entry matching one of ``candidates`` (ignoring case and spacing)."""
    by_key = {_norm(h): h for h in header if h is not None}
    for cand in candidates:
        if _norm(cand) in by_key:
            return by_key[_norm(cand)]
    return None


def _require_columns(header: Sequence[str], source: Path,
                     **wanted: Sequence[str]) -> dict[str, str]:
    """Map each wanted role to a header entry; ``ValueError`` naming the missing ones."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for role, candidates in wanted.items():
        col = find_column(header, *candidates)
        if col is None:
            missing.append(" or ".join(repr(c) for c in candidates))
        else:
            found[role] = col
    if missing:
        raise ValueError(
            f"{source} lacks the column(s) {', '.join(missing)}; "
            f"its columns are: {', '.join(repr(h) for h in header)}"
        )
    return found


def read_csv_table(path: Path) -> tuple[list[str], list[Row]]:
    """Read a delimited text table with a header row.

    The delimiter (``,``, ``;`` or tab) is sniffed, a UTF-8 byte-order mark (spreadsheet
    exports) is dropped and blank lines are skipped.

    Returns:
        The header and the rows as dicts keyed by header entry.

    Raises:
        ValueError: the file is missing, unreadable or has no header.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text.splitlines(), dialect)
    header: list[str] | None = None
    rows: list[Row] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            continue
        rows.append({h: (cells[i].strip() if i < len(cells) else "")
                     for i, h in enumerate(header)})
    if header is None:
        raise ValueError(f"{path} is empty (no header row)")
    return header, rows


def read_xlsx_table(path: Path, sheet: str | None = None,
                    header_has: str | None = None) -> tuple[list[str], list[Row]]:
    """Read one sheet of an ``.xlsx`` workbook (needs ``openpyxl``).

    Args:
        path: the workbook.
        sheet: the sheet name; default the first sheet.
        header_has: the header row is the first row with a cell matching this label
            (default: the first non-empty row).

    Raises:
        ValueError: ``openpyxl`` is missing, the file is unreadable or the sheet/header
            is not there.
    """
    try:
        import openpyxl
    except ImportError:
        raise ValueError(
            f"reading {path.name} needs openpyxl (pip install openpyxl), or export the "
            "sheet as a .csv file with the same name next to it"
        ) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a bad file
        raise ValueError(f"cannot read {path}: {exc}") from exc
    try:
        if sheet is None:
            ws = book.worksheets[0]
        else:
            names = {_norm(n): n for n in book.sheetnames}
            if _norm(sheet) not in names:
                raise ValueError(f"{path} has no sheet {sheet!r}; sheets: {book.sheetnames}")
            ws = book[names[_norm(sheet)]]
        header: list[str] | None = None
        rows: list[Row] = []
        for values in ws.iter_rows(values_only=True):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            if header is None:
                labels = ["" if v is None else str(v).strip() for v in values]
                if header_has is None or find_column(labels, header_has):
                    header = labels
                continue
            rows.append({h: values[i] if i < len(values) else None
                         for i, h in enumerate(header) if h})
    finally:
        book.close()
    if header is None:
        raise ValueError(f"{path}: no header row found"
                         + (f" (with a {header_has!r} column)" if header_has else ""))
    return [h for h in header if h], rows


def read_table(path: Path, *, sheet: str | None = None,
               header_has: str | None = None) -> tuple[list[str], list[Row]]:
    """Read a ``.csv``/``.txt`` or ``.xlsx`` table, chosen by extension."""
    if path.suffix.lower() == ".xlsx":
        return read_xlsx_table(path, sheet=sheet, header_has=header_has)
    return read_csv_table(path)


def _to_float(value: Any, what: str) -> float:
    """Parse a table cell as a finite float; ``ValueError`` naming the cell otherwise."""
    try:
        out = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what}: not a number: {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{what}: not a finite number: {value!r}")
    return out


def _optional_float(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    return _to_float(value, what)


def _spreadsheet_or_csv(folder: Path, stems: Sequence[str]) -> Path | None:
    """The first existing ``<stem>.xlsx`` (read only with openpyxl) or ``<stem>.csv``.

    The xlsx is preferred where openpyxl is importable; otherwise a csv export of the
    same sheet is used, and an xlsx alone is still returned so that the error message
    says what to install.
    """
    try:
        import openpyxl  # noqa: F401

        have_openpyxl = True
    except ImportError:
        have_openpyxl = False
    for stem in stems:
        xlsx, csv_ = folder / f"{stem}.xlsx", folder / f"{stem}.csv"
        if have_openpyxl and xlsx.is_file():
            return xlsx
        if csv_.is_file():
            return csv_
        if xlsx.is_file():
            return xlsx
    return None


# ------------------------------------------------------------------------ item building
def _check_images(items: Sequence[DatasetItem], source: Path, where: Path) -> None:
    missing = [it for it in items if not it.path.is_file()]
    if missing:
        shown = ", ".join(repr(it.name) for it in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(
            f"{len(missing)} of the {len(items)} images listed in {source} are missing "
            f"under {where}: {shown}{more}"
        )


def _items_from_rows(rows: Iterable[Row], source: Path, image_col: str, mos_col: str,
                     std_col: str | None, resolve: Callable[[str], Path],
                     name_of: Callable[[str], str] = lambda s: s) -> list[DatasetItem]:
    """Turn table rows into items; rows with an empty image cell are skipped."""
    items: list[DatasetItem] = []
    for i, row in enumerate(rows, start=2):
        image = row.get(image_col)
        if image is None or str(image).strip() == "":
            continue
        image = str(image).strip()
        where = f"{source}, row {i} ({image})"
        mos = _to_float(row.get(mos_col), f"{where}, column {mos_col!r}")
        std = _optional_float(row.get(std_col), f"{where}, column {std_col!r}") \
            if std_col else None
        items.append(DatasetItem(resolve(image), name_of(image), mos, std))
    return items


def _dedupe(items: Iterable[DatasetItem]) -> list[DatasetItem]:
    seen: set[str] = set()
    out: list[DatasetItem] = []
    for it in items:
        if it.name not in seen:
            seen.add(it.name)
            out.append(it)
    return out


# ------------------------------------------------------------------------ layouts
@dataclass(frozen=True)
class Layout:
    """A dataset layout: how to recognise a folder and read it.

    Attributes:
        name: the key (``clive``, ``generic``...).
        detect: ``detect(root) -> bool``, cheap (looks at file names only).
        load: ``load(root, name) -> Dataset``.
        description: what a folder of this layout contains, for error messages.
    """

    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path, str], Dataset]
    description: str = ""


#: Registered layouts in detection order (specific ones first, ``generic`` last).
LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout, *, before: str | None = None) -> Layout:
    """Add a layout (replacing one of the same name), optionally ahead of another one in
    detection order."""
    LAYOUTS.pop(layout.name, None)
    if before is None or before not in LAYOUTS:
        LAYOUTS[layout.name] = layout
        return layout
    items = list(LAYOUTS.items())
    idx = [k for k, _ in items].index(before)
    items.insert(idx, (layout.name, layout))
    LAYOUTS.clear()
    LAYOUTS.update(items)
    return layout


# -- generic -------------------------------------------------------------------------
def _detect_generic(root: Path) -> bool:
    return (root / "mos.csv").is_file() and (root / "images").is_dir()


def load_generic(root: Path, name: str = "generic") -> Dataset:
    """``ROOT/images/`` + ``ROOT/mos.csv`` (columns ``image``, ``mos``, optional
    ``mos_std``; ``image`` is a path relative to ``images/``).

    This is the layout of ``shared/data/clive-dev`` and the simplest way to benchmark
    any set: write its labels as such a csv.
    """
    source = root / "mos.csv"
    header, rows = read_csv_table(source)
    cols = _require_columns(header, source, image=("image",), mos=("mos",))
    std = find_column(header, "mos_std")
    images = root / "images"
    items = _items_from_rows(rows, source, cols["image"], cols["mos"], std,
                             resolve=lambda s: images / s)
    _check_images(items, source, images)
    return Dataset(name, items, "generic", root)


# -- CLIVE -----------------------------------------------------------------------------
CLIVE_TRAINING_IMAGES = 7


def _detect_clive(root: Path) -> bool:
    return (root / "Data" / "AllMOS_release.mat").is_file() and (root / "Images").is_dir()


def _mat_variable(path: Path, key: str) -> Any:
    from scipy.io import loadmat

    try:
        data = loadmat(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc
    if key not in data:
        found = sorted(k for k in data if not k.startswith("__"))
        raise ValueError(f"{path} has no variable {key!r}; it holds: {found}")
    return data[key]


def _mat_strings(value: Any) -> list[str]:
    """A MATLAB cell array of strings (as scipy loads it) as a list of str."""
    import numpy as np

    out: list[str] = []
    for cell in np.asarray(value, dtype=object).ravel():
        while isinstance(cell, np.ndarray):
            if cell.size == 0:
                cell = ""
                break
            cell = cell.ravel()[0]
        out.append(str(cell).strip())
    return out


def load_clive(root: Path, name: str = "clive", *,
               include_training: bool = False) -> Dataset:
    """LIVE In the Wild Image Quality Challenge database, official release layout.

    ``ROOT`` is the unzipped ``ChallengeDB_release`` folder::

        Images/                     the images (the 7 training ones in Images/trainingImages/)
        Data/AllImages_release.mat  variable AllImages_release: cell array of file names
        Data/AllMOS_release.mat     variable AllMOS_release: MOS (0-100, higher = better)
        Data/AllStdDev_release.mat  variable AllStdDev_release: std of the scores (optional)

    The first 7 entries are the training images shown to every subject before the
    study; by the official convention they are not part of the 1,162 test images and
    are dropped (``include_training=True`` keeps them).

    Sources: https://live.ece.utexas.edu/research/ChallengeDB/ ; the variable names as
    read by chaofengc/IQA-PyTorch ``scripts/process_livechallenge.py``; the exclusion of
    the ``trainingImages`` as in nithincbabu7/iqa-ContentSep ``datasets/test_datasets.py``
    (the method's official evaluation, 1,162 images). That code also resizes the two
    odd-sized images (1024.JPG, 1113.JPG) to 500x500; we score every image as it is.
    """
    data = root / "Data"
    names = _mat_strings(_mat_variable(data / "AllImages_release.mat", "AllImages_release"))
    import numpy as np

    mos = np.asarray(_mat_variable(data / "AllMOS_release.mat", "AllMOS_release"),
                     dtype=np.float64).ravel()
    std_path = data / "AllStdDev_release.mat"
    std = (np.asarray(_mat_variable(std_path, "AllStdDev_release"), dtype=np.float64).ravel()
           if std_path.is_file() else None)
    if len(mos) != len(names) or (std is not None and len(std) != len(names)):
        raise ValueError(
            f"{data}: {len(names)} image names but {len(mos)} MOS values"
            + (f" and {len(std)} std values" if std is not None else "")
        )
    images = root / "Images"

    def resolve(n: str) -> Path:
        p = images / n
        return p if p.is_file() else images / "trainingImages" / n

    start = 0 if include_training else CLIVE_TRAINING_IMAGES
    items = [DatasetItem(resolve(n), n, float(mos[i]),
                         None if std is None else float(std[i]))
             for i, n in enumerate(names) if i >= start]
    _check_images(items, data / "AllImages_release.mat", images)
    return Dataset(name, items, "clive", root)


# -- KonIQ-10k -------------------------------------------------------------------------
KONIQ_LABEL_FILES = ("koniq10k_scores_and_distributions.csv", "koniq10k_distributions_sets.csv")
KONIQ_IMAGE_DIRS = ("1024x768", "512x384")


def _first_file(root: Path, names: Sequence[str]) -> Path | None:
    return next((root / n for n in names if (root / n).is_file()), None)


def _detect_koniq(root: Path) -> bool:
    return (_first_file(root, KONIQ_LABEL_FILES) is not None
            and any((root / d).is_dir() for d in KONIQ_IMAGE_DIRS))


def load_koniq(root: Path, name: str = "koniq") -> Dataset:
    """KonIQ-10k, official layout: ``koniq10k_scores_and_distributions.csv`` (header
    ``image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,MOS_zscore``) and the images in
    ``1024x768/`` (or the half-size ``512x384/`` where only that was downloaded).

    The ``MOS`` column (1-5, higher = better) is used and ``SD`` as its std; all 10,073
    images. ``koniq10k_distributions_sets.csv`` (same columns plus ``set``) is accepted
    in place of the scores file.

    Sources: https://database.mmsp-kn.de/koniq-10k-database.html ; the file and folder
    names as in baidut/PaQ-2-PiQ ``fastiqa/labels/KonIQ.py`` and the method's official
    evaluation (nithincbabu7/iqa-ContentSep ``evaluate_model.py``: ``KONIQ/1024x768/``).
    """
    source = _first_file(root, KONIQ_LABEL_FILES)
    if source is None:
        raise ValueError(f"{root}: none of {KONIQ_LABEL_FILES} found")
    images = next((root / d for d in KONIQ_IMAGE_DIRS if (root / d).is_dir()), root / "1024x768")
    header, rows = read_csv_table(source)
    cols = _require_columns(header, source, image=("image_name",), mos=("MOS",))
    std = find_column(header, "SD")
    items = _items_from_rows(rows, source, cols["image"], cols["mos"], std,
                             resolve=lambda s: images / s)
    _check_images(items, source, images)
    return Dataset(name, items, "koniq", root)


# -- SPAQ ------------------------------------------------------------------------------
SPAQ_LABEL_STEMS = ("MOS and Image attribute scores", "MOS and Image attributes scores")


def _detect_spaq(root: Path) -> bool:
    return ((root / "TestImage").is_dir() and (root / "Annotations").is_dir()
            and _spreadsheet_or_csv(root / "Annotations", SPAQ_LABEL_STEMS) is not None)


def load_spaq(root: Path, name: str = "spaq") -> Dataset:
    """SPAQ, official layout::

        TestImage/                                       the 11,125 photos (00001.jpg ...)
        Annotations/MOS and Image attribute scores.xlsx  first sheet: Image name, MOS,
                                                         Brightness, Colorfulness, ...

    The xlsx is read only where ``openpyxl`` is installed; otherwise a csv export of that
    sheet with the same name (``.csv``) is read. ``MOS`` is 0-100, higher = better.
    Images are scored at their full resolution (many papers resize SPAQ first).

    Sources: https://github.com/h4nwei/SPAQ ; the file, sheet and folder names as read by
    the SPAQ baseline loader (lllllllllllll-llll/SPAQ ``dataloader/dataset_folders.py``)
    and chaofengc/IQA-PyTorch ``scripts/process_spaq.py``; the header as in csv exports
    of that sheet (``Image name,MOS,Brightness,Colorfulness,Contrast,Noisiness,Sharpness``).
    """
    source = _spreadsheet_or_csv(root / "Annotations", SPAQ_LABEL_STEMS)
    if source is None:
        raise ValueError(f"{root / 'Annotations'}: no '{SPAQ_LABEL_STEMS[0]}.xlsx' or .csv")
    header, rows = read_table(source, header_has="MOS")
    cols = _require_columns(header, source, image=("Image name", "Image"), mos=("MOS",))
    images = root / "TestImage"
    items = _items_from_rows(rows, source, cols["image"], cols["mos"], None,
                             resolve=lambda s: images / s)
    _check_images(items, source, images)
    return Dataset(name, items, "spaq", root)


# -- FLIVE -----------------------------------------------------------------------------
#: (label file, image column, MOS column), in order of preference.
FLIVE_LABEL_FILES = (
    ("labels_image.csv", "name", "mos"),
    ("labels640.csv", "name_image", "mos_image"),
)


def _flive_labels(root: Path) -> tuple[Path, str, str] | None:
    for folder in (root, root / "database"):
        for fname, img_col, mos_col in FLIVE_LABEL_FILES:
            if (folder / fname).is_file():
                return folder / fname, img_col, mos_col
    return None


def _detect_flive(root: Path) -> bool:
    return _flive_labels(root) is not None


def load_flive(root: Path, name: str = "flive") -> Dataset:
    """FLIVE (LIVE-FB, PaQ-2-PiQ), official layout of the ``FLIVE_Database``: the label
    file ``labels_image.csv`` (columns ``name,mos``; MOS 0-100, higher = better) in
    ``ROOT`` or ``ROOT/database/``, with image names relative to the folder of that file
    (``voc_emotic_ava/AVA__129332.jpg``, ``blur_dataset/motion0044.jpg``, ``EE371R/...``);
    an ``images/`` sub-folder is also searched.

    All 39,810 whole images are used (the patch labels, ``labels_patch.csv``, are not),
    as in the method's official evaluation. Where only ``labels640.csv`` is present
    (columns ``name_image,mos_image``: the official test split), that is read instead.

    Sources: https://github.com/niu-haoran/FLIVE_Database ; the files and columns as in
    baidut/PaQ-2-PiQ ``database/labels_image.csv``/``labels640.csv`` and
    chaofengc/IQA-PyTorch ``scripts/process_flive.py``; all images as in
    nithincbabu7/iqa-ContentSep ``datasets/LIVEFB.csv``.
    """
    found = _flive_labels(root)
    if found is None:
        raise ValueError(f"{root}: no {FLIVE_LABEL_FILES[0][0]} (or database/...) found")
    source, img_col, mos_col = found
    header, rows = read_csv_table(source)
    cols = _require_columns(header, source, image=(img_col,), mos=(mos_col,))
    bases = (source.parent, source.parent / "images")

    def resolve(rel: str) -> Path:
        for base in bases:
            p = base / rel
            if p.is_file():
                return p
        return bases[0] / rel

    items = _items_from_rows(rows, source, cols["image"], cols["mos"], None, resolve=resolve)
    _check_images(items, source, source.parent)
    return Dataset(name, items, "flive", root)


# -- CID2013 ---------------------------------------------------------------------------
CID2013_SETS = tuple(f"IS{i}" for i in range(1, 7))
CID2013_SHEET = "CID2013 MOS"


def _cid2013_labels(root: Path) -> Path | None:
    try:
        import openpyxl  # noqa: F401

        exts = (".xlsx", ".csv")
    except ImportError:
        exts = (".csv", ".xlsx")
    for ext in exts:
        found = sorted(root.glob(f"CID2013 data*{ext}"))
        if found:
            return found[-1]  # the latest version by name
    return None


def _detect_cid2013(root: Path) -> bool:
    return (any((root / s).is_dir() for s in CID2013_SETS)
            and _cid2013_labels(root) is not None)


def load_cid2013(root: Path, name: str = "cid2013") -> Dataset:
    """CID2013 camera image database, official layout::

        IS1/ ... IS6/                            one folder per image set, with one
                                                 sub-folder per camera (co1, co2, ...)
        IS1/co1/IS_I_C01_D01.jpg ...             474 images
        CID2013 data - version 12112014.xlsx     sheet "CID2013 MOS": Source_ID
                                                 (IS_I_C01_D01), Realigned MOS, ...

    The ``Realigned MOS`` (all six sets on one scale, about 0-100, higher = better) is
    used; each ``Source_ID`` is found as ``<Source_ID>.jpg`` anywhere under ``IS1``-
    ``IS6``. The xlsx is read where ``openpyxl`` is installed; otherwise a csv export of
    the "CID2013 MOS" sheet named ``CID2013 data*.csv`` is read. No MATLAB (.mat) MOS
    file could be confirmed as part of the release, so none is read.

    Sources: Virtanen et al., "CID2013: a database for evaluating no-reference image
    quality assessment algorithms", IEEE TIP 2015 (QUALINET database listing); the
    workbook, sheet and column names as read by several public CID2013 loaders; the
    folder structure as in nithincbabu7/iqa-ContentSep ``datasets/CID2013.csv`` (the
    method's official evaluation, which pools all 474 images).
    """
    source = _cid2013_labels(root)
    if source is None:
        raise ValueError(f"{root}: no 'CID2013 data*.xlsx' (or .csv export) found")
    sheet = CID2013_SHEET if source.suffix.lower() == ".xlsx" else None
    header, rows = read_table(source, sheet=sheet, header_has="Source_ID")
    cols = _require_columns(header, source, image=("Source_ID",), mos=("Realigned MOS",))
    index: dict[str, Path] = {}
    for s in CID2013_SETS:
        if (root / s).is_dir():
            for p in sorted((root / s).rglob("*")):
                if p.suffix.lower() in (".jpg", ".jpeg") and p.is_file():
                    index.setdefault(p.stem.lower(), p)

    def resolve(source_id: str) -> Path:
        stem = Path(source_id).stem if source_id.lower().endswith((".jpg", ".jpeg")) \
            else source_id
        return index.get(stem.lower(), root / f"{source_id}.jpg")

    def display(source_id: str) -> str:
        p = resolve(source_id)
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            return source_id

    items = _items_from_rows(rows, source, cols["image"], cols["mos"], None,
                             resolve=resolve, name_of=display)
    _check_images(items, source, root)
    return Dataset(name, items, "cid2013", root)


# -- BIQ2021 ---------------------------------------------------------------------------
#: Label files of the BIQ2021 repository per split, newest naming first.
BIQ2021_SPLITS = {
    "train": ("Train.csv", "Train (Images and MOS).csv"),
    "test": ("Test.csv", "Test (Images and MOS).csv"),
}


def _detect_biq2021(root: Path) -> bool:
    return (root / "Images").is_dir() and any(
        _first_file(root, names) is not None for names in BIQ2021_SPLITS.values())


def load_biq2021(root: Path, name: str = "biq2021", *, split: str = "all") -> Dataset:
    """BIQ2021, layout of its official repository: ``Images/`` (``ss01 (1).jpg`` ...,
    12,000 images) and the label files ``Train.csv`` (10,000 images) and ``Test.csv``
    (2,000), columns ``Image Name,MOS`` (MOS scaled to 0-1, higher = better). The older
    ``Train (Images and MOS).csv`` / ``Test (Images and MOS).csv`` are read where the
    newer files are absent.

    Args:
        root: the repository / release folder.
        name: the dataset name.
        split: ``"all"`` (default: train then test; the scorers are not trained on
            either), ``"train"`` or ``"test"``.

    Sources: https://github.com/nisarahmedrana/BIQ2021 (README, label files and its
    ``FineTuning_DenseNet201.m``, which reads the two csv files and ``Images/``).
    """
    if split not in ("all", *BIQ2021_SPLITS):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}")
    wanted = list(BIQ2021_SPLITS) if split == "all" else [split]
    images = root / "Images"
    items: list[DatasetItem] = []
    sources: list[Path] = []
    for s in wanted:
        source = _first_file(root, BIQ2021_SPLITS[s])
        if source is None:
            if split != "all":
                raise ValueError(f"{root}: no {' or '.join(BIQ2021_SPLITS[s])}")
            continue
        sources.append(source)
        header, rows = read_csv_table(source)
        cols = _require_columns(header, source, image=("Image Name", "Image"), mos=("MOS",))
        part = _items_from_rows(rows, source, cols["image"], cols["mos"], None,
                                resolve=lambda n: images / n)
        _check_images(part, source, images)
        items.extend(part)
    if not sources:
        raise ValueError(f"{root}: no BIQ2021 label file (Train.csv / Test.csv)")
    return Dataset(name, _dedupe(items), "biq2021", root)


for _layout in (
    Layout("clive", _detect_clive, load_clive,
           "Images/ + Data/AllImages_release.mat + Data/AllMOS_release.mat"),
    Layout("koniq", _detect_koniq, load_koniq,
           "koniq10k_scores_and_distributions.csv + 1024x768/"),
    Layout("spaq", _detect_spaq, load_spaq,
           "Annotations/MOS and Image attribute scores.xlsx (or .csv) + TestImage/"),
    Layout("flive", _detect_flive, load_flive, "labels_image.csv (or database/labels_image.csv)"),
    Layout("cid2013", _detect_cid2013, load_cid2013,
           "IS1/ ... IS6/ + 'CID2013 data - version ....xlsx' (or .csv)"),
    Layout("biq2021", _detect_biq2021, load_biq2021, "Images/ + Train.csv / Test.csv"),
    Layout("generic", _detect_generic, load_generic,
           "images/ + mos.csv (columns image, mos, optional mos_std)"),
):
    register_layout(_layout)


# ------------------------------------------------------------------------ entry points
def _matching_layouts(root: Path) -> list[str]:
    return [name for name, lay in LAYOUTS.items() if lay.detect(root)]


def detect_layout(root: str | os.PathLike) -> tuple[str, Path]:
    """Find the layout of a dataset folder.

    ``root`` itself is tried first; where it matches no layout, its immediate
    sub-folders are tried (e.g. ``ROOT/ChallengeDB_release``) and a single match is
    taken.

    Returns:
        ``(layout name, folder)``; the folder is ``root`` or the matching sub-folder.

    Raises:
        ValueError: ``root`` is not a folder, or no (or more than one) sub-folder
            matches a layout; the message lists what each layout expects.
    """
    base = Path(root)
    if not base.is_dir():
        raise ValueError(f"dataset folder not found: {base}")
    found = _matching_layouts(base)
    if found:
        return found[0], base
    try:
        subdirs = sorted(p for p in base.iterdir() if p.is_dir())
    except OSError as exc:
        raise ValueError(f"cannot list {base}: {exc}") from exc
    hits = [(m[0], d) for d in subdirs if (m := _matching_layouts(d))]
    if len(hits) == 1:
        return hits[0]
    expected = "; ".join(f"{n}: {lay.description}" for n, lay in LAYOUTS.items())
    if hits:
        raise ValueError(
            f"{base} holds several datasets ({', '.join(str(d) for _, d in hits)}); "
            "give one of them"
        )
    raise ValueError(f"unknown dataset layout in {base}; expected one of -- {expected}")


def load_dataset(root: str | os.PathLike, name: str | None = None,
                 layout: str | None = None) -> Dataset:
    """Read a dataset folder in any supported layout.

    Args:
        root: the dataset folder.
        name: the dataset's name (default: the folder name).
        layout: force a layout (a key of :data:`LAYOUTS`) instead of detecting it.

    Returns:
        The dataset, its images in the release's order.

    Raises:
        ValueError: unknown layout, missing label file or columns, unreadable values or
            images listed but missing.
    """
    base = Path(root)
    if layout is None:
        layout, base = detect_layout(base)
    elif layout not in LAYOUTS:
        raise ValueError(f"unknown dataset layout {layout!r}; known: {', '.join(LAYOUTS)}")
    elif not base.is_dir():
        raise ValueError(f"dataset folder not found: {base}")
    dataset = LAYOUTS[layout].load(base, name or base.name)
    if not dataset.items:
        raise ValueError(f"{base}: the {layout} label file lists no images")
    return dataset
