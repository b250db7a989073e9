"""Shared fixtures: sample photos, a small fitted model and its bundle file, a
folder of small training images, the distortion tests' images, the report tests' folder
of photos, the shared data folder; from ``bench_fixtures.py`` beside this file, the fake
scorer and dataset of the bench tests (tests/bench and the ``blindiqa bench`` command's
tests in tests/cli); and from ``ray_fixtures.py``, a local Ray instance with a few photos
and their local scores (scoring on Ray: tests/scoring and the ``score --engine ray``
command's tests in tests/cli).

Tests must pass on any machine: see "Tests that pass on any machine" in CONTRIBUTING.md
(golden values with a relative tolerance of ~1e-6, exact equality only within one
machine, no timing thresholds, no thread-count assumptions, no reliance on listing order).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bench_fixtures import fake_model, generic_tree  # noqa: F401
from PIL import Image
from ray_fixtures import local_ray, ray_local_scores, ray_model, ray_photos  # noqa: F401

from blindiqa.models.bundle import save_bundle

#: benchmarks/robustness_cases.py (the bad inputs that benchmarks/robustness_table.py
#: tabulates and tests/robustness checks) holds the small model's recipe; the robustness
#: tests import it the same way, as a top-level module of benchmarks/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from robustness_cases import fit_small_model  # noqa: E402

#: Environment variable: the shared data folder (default: ``../shared/data`` beside the
#: repository), holding the MATLAB calibration images, the official NIQE / IL-NIQE
#: parameters and the development sets that some tests read.
SHARED_ENV = "BLINDIQA_SHARED_DATA"


def shared_data_dir() -> Path:
    """The shared data folder: ``$BLINDIQA_SHARED_DATA`` or ``../shared/data``."""
    given = os.environ.get(SHARED_ENV)
    if given:
        return Path(given).expanduser().resolve()
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests that need it skip where it is absent."""
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"shared data not found at {d} (set {SHARED_ENV}=/path/to/shared/data; "
                    "in CI it sits beside the repository)")
    return d


@pytest.fixture(scope="session")
def load_benchmark():
    """A function ``name -> module``: the script ``benchmarks/NAME.py`` imported as a
    module (benchmarks are scripts, not a package)."""
    return _load_benchmark


def _load_benchmark(name: str):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 192x256 uint8 RGB photograph (scikit-image's 'coffee', cropped)."""
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.coffee()[100:292, 150:406])


@pytest.fixture(scope="session")
def photo2() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(data.chelsea()[50:242, 100:300])


@pytest.fixture(scope="session")
def small_model():
    """A cheap but real model: EfficientNet-Lite0 'stage3' features (40-d), pristine
    Gaussian fitted on two sample photos."""
    data = pytest.importorskip("skimage.data")
    return fit_small_model((data.astronaut(), data.rocket()))


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory, small_model) -> str:
    """The ``small_model`` fixture saved as a bundle (``score --model FILE``)."""
    path = tmp_path_factory.mktemp("model") / "small.safetensors"
    save_bundle(path, *small_model.bundle_contents())
    return str(path)


def _crop(array, side: int = 128) -> torch.Tensor:
    h, w, _ = array.shape
    top, left = (h - side) // 2, (w - side) // 2
    patch = array[top:top + side, left:left + side].copy()
    return torch.from_numpy(patch).permute(2, 0, 1).float() / 255.0


@pytest.fixture(scope="session")
def images() -> torch.Tensor:
    """``(3, 3, 128, 128)`` float32 in ``[0, 1]``: 128 x 128 centre crops of
    scikit-image's astronaut, coffee and chelsea (the distortion tests' images)."""
    data = pytest.importorskip("skimage.data", reason="scikit-image is a test dependency")
    return torch.stack([_crop(data.astronaut()), _crop(data.coffee()), _crop(data.chelsea())])


#: (height, width) of the fixture images: landscape, portrait, square, smaller than the
#: working size of the training tests (128) so that they get enlarged.
_PRISTINE_SIZES = ((100, 140), (150, 120), (128, 128), (90, 160), (200, 96))


def _smooth_image(height: int, width: int, seed: int) -> np.ndarray:
    """A deterministic uint8 RGB image with structure at a few scales."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(1, 3, height, width)
    for cells in (4, 12, 40):
        noise = torch.rand(1, 3, cells, cells, generator=g)
        out += F.interpolate(noise, size=(height, width), mode="bicubic", align_corners=False)
    out = (out / 3).clamp(0, 1)
    return (out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def pristine_dir(tmp_path_factory) -> Path:
    """A folder of five small smooth PNG images (the training tests' pristine images)."""
    d = tmp_path_factory.mktemp("pristine")
    for i, (h, w) in enumerate(_PRISTINE_SIZES):
        Image.fromarray(_smooth_image(h, w, i)).save(d / f"img{i}.png")
    return d


#: A file name that is markup if written into a page unescaped.
TRICKY_NAME = "a<b>&\"q'.png"


@pytest.fixture()
def tricky_name() -> str:
    """The name of the photo whose name is markup."""
    return TRICKY_NAME


@pytest.fixture()
def report_photos(tmp_path, photo, photo2):
    """Six inputs: five small photos (one with a name full of markup) and a corrupt JPEG."""
    d = tmp_path / "photos"
    d.mkdir()
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 25, photo.shape), 0, 255)
    blocky = photo2[::4, ::4].repeat(4, 0).repeat(4, 1)
    Image.fromarray(photo).save(d / "coffee.jpg", quality=95)
    Image.fromarray(photo2).save(d / "cat.png")
    Image.fromarray(noisy.astype(np.uint8)).save(d / "noisy.png")
    Image.fromarray(blocky).save(d / "blocky.png")
    Image.fromarray(photo[:, ::-1].copy()).save(d / TRICKY_NAME)
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    return d


#: A sidecar as darktable / digiKam / Lightroom leave them: a rating, a colour label,
#: keywords, hierarchical keywords and darktable's own namespace with a history.
_XMP_OTHER_FIELDS = """\
<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmp:Rating="1"
    xmp:Label="Red"
    darktable:xmp_version="5"
    darktable:history_end="1">
   <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li><rdf:li>beach</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>places|beach</rdf:li></rdf:Bag></lr:hierarchicalSubject>
   <darktable:history><rdf:Seq><rdf:li darktable:operation="exposure"
     darktable:enabled="1" darktable:params="0000"/></rdf:Seq></darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


@pytest.fixture
def xmp_other_fields() -> str:
    """An XMP sidecar with a rating, a label, keywords and darktable's history."""
    return _XMP_OTHER_FIELDS


def _xmp_fields(path: Path) -> dict:
    """Every XMP property of a sidecar, as exiv2 reads it."""
    import pyexiv2

    doc = pyexiv2.ImageData(path.read_bytes())
    try:
        return doc.read_xmp()
    finally:
        doc.close()


@pytest.fixture
def read_xmp():
    """``read_xmp(path)``: every XMP property of a sidecar, as exiv2 reads it."""
    return _xmp_fields


@pytest.fixture()
def map_render_spy(monkeypatch):
    """The keyword arguments of every ``blindiqa.viz.render_quality_map`` call (drawing
    as usual), by the report (through ``blindiqa.viz``) or by ``blindiqa score --maps``
    (:mod:`blindiqa.scoring.local`)."""
    import blindiqa.scoring.local
    import blindiqa.viz

    calls: list[dict] = []
    real = blindiqa.viz.render_quality_map

    def render(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(blindiqa.viz, "render_quality_map", render)
    monkeypatch.setattr(blindiqa.scoring.local, "render_quality_map", render)
    return calls
