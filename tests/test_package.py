"""``import blindiqa`` is cheap (no torch, scipy or model) and still complete on use.

Each check runs in a fresh interpreter, since this test process has long imported torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import blindiqa

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "scipy", "blindiqa.catalogue", "blindiqa.baselines.niqe")


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter importing this checkout; the JSON it prints."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_loads_no_torch():
    got = run_python(
        "import json, sys\nimport blindiqa\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert got == []


def test_first_lookup_registers_every_builtin():
    """``list_models()`` right after ``import blindiqa`` lists the built-ins (registered
    on that first lookup), and ``load("niqe")`` works."""
    got = run_python(
        "import json, sys\nimport blindiqa\n"
        "before = 'torch' in sys.modules\n"
        "names = [e.name for e in blindiqa.list_models()]\n"
        "model = blindiqa.load('niqe')\n"
        "print(json.dumps({'before': before, 'names': names, 'loaded': model.name,\n"
        "                  'is_model': blindiqa.is_model('ilniqe')}))")
    assert got["before"] is False
    assert {"default", "contentsep", "niqe", "ilniqe"} <= set(got["names"])
    assert got["loaded"] == "niqe" and got["is_model"] is True


def test_lazy_names():
    """The lazily imported names resolve, are listed by ``dir()`` and importable by name."""
    from blindiqa import ModelInfo, QualityModel, load
    from blindiqa.models import base
    from blindiqa.models import load as load_module

    assert (ModelInfo, QualityModel, load) == (base.ModelInfo, base.QualityModel,
                                              load_module.load)
    assert set(blindiqa.__all__) <= set(dir(blindiqa))
    assert isinstance(blindiqa.__version__, str)


def test_unknown_attribute_raises():
    try:
        blindiqa.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_docs_give_the_default_models_minimum_size():
    """docs/robustness.md's minimum size is the default model's ``min_size`` (issue 22)."""
    text = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    assert f"{blindiqa.load('default').min_size} px for the default" in text


def test_the_test_extra_installs_what_the_tests_import():
    """``pip install .[test]`` brings openpyxl, so the SPAQ .xlsx tests run (issue 22)."""
    tomllib = pytest.importorskip("tomllib")
    pyproject = ROOT / "pyproject.toml"
    extra = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]["test"]
    assert any(req.startswith("openpyxl") for req in extra)
