"""benchmarks/import_graph.py: the package has no import cycle, of modules or folders."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def import_graph():
    """The script, imported as a module (benchmarks/ on the path, as the scripts run)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    yield importlib.import_module("import_graph")
    sys.path.remove(str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def report(import_graph):
    return import_graph.analyse(ROOT)


def test_no_module_imports_back(report):
    """No loop among the modules, counting imports inside functions and importlib."""
    assert report.module_cycles() == []


def test_no_folder_imports_back(report):
    assert report.folder_cycles() == []


def test_registry_imports_no_model(report):
    """The catalogue imports the model modules; the registry imports none of them."""
    deps = report.graph()
    assert {"blindiqa.models.registry"} & deps["blindiqa.catalogue"] == set()
    assert deps["blindiqa.models.registry"] <= {"blindiqa.models.base"}
    assert {"blindiqa.baselines.niqe", "blindiqa.baselines.ilniqe",
            "blindiqa.models.shipped"} <= deps["blindiqa.catalogue"]


def test_benchmarks_import_no_cli():
    """The benchmark scripts use the library, not the command-line modules (except
    robustness_table.py, whose subject is the command line's behaviour)."""
    for path in (ROOT / "benchmarks").glob("*.py"):
        if path.name not in ("robustness_table.py", "import_graph.py"):
            assert "blindiqa.cli" not in path.read_text(encoding="utf-8"), path.name


def test_finds_loops_of_every_kind(import_graph, tmp_path):
    """A loop through an importlib string, through a deferred import, and a folder loop."""
    pkg = tmp_path / "blindiqa"
    for folder in ("a", "b"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text(
        "import importlib\nfor m in ('blindiqa.b.y',):\n    importlib.import_module(m)\n")
    (pkg / "b" / "y.py").write_text("def f():\n    from blindiqa.a import x\n")
    (pkg / "b" / "z.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import blindiqa.a.x\n")
    report = import_graph.analyse(tmp_path)
    assert report.module_cycles() == [["blindiqa.a.x", "blindiqa.b.y"]]
    assert report.folder_cycles() == [["a", "b"]]
    kinds = {(e.src, e.dst): e.kind for e in report.edges}
    assert kinds == {("blindiqa.a.x", "blindiqa.b.y"): "importlib",
                     ("blindiqa.b.y", "blindiqa.a.x"): "deferred"}
    text = "\n".join(import_graph.cycle_lines(report))
    assert "blindiqa.a.x (importlib, line 3) -> blindiqa.b.y (deferred, line 2)" in text


def test_mermaid_has_one_arrow_per_folder_pair(import_graph, report):
    lines = list(import_graph.mermaid(report))
    arrows = [ln for ln in lines if "-->" in ln or "-.->" in ln]
    assert lines[0] == "flowchart TD" and len(arrows) == len(report.folders)
    assert not any("-.->" in a for a in arrows)  # dotted arrows mark cycles


def test_the_layered_picture_holds_each_folder_once_at_its_level(import_graph, report):
    lines = list(import_graph.layered(report))
    level = import_graph.layers(report.folder_graph(), report.folder_nodes)
    boxes = [ln.strip() for ln in lines if ln.strip().startswith("subgraph")]
    nodes = [ln.strip().split("[")[0] for ln in lines
             if ln.startswith(" " * 8) and '["' in ln]  # the folders, inside the boxes
    assert lines[0] == "flowchart TB"
    assert len(boxes) == len(set(level.values()))
    assert sorted(nodes) == sorted(import_graph._ident(n) for n in report.folder_nodes)
    assert boxes[0] == f'subgraph L{max(level.values())}["level {max(level.values())}"]'
    assert sum("-->" in ln for ln in lines) == len(boxes) - 1
    top = [n for n, lv in level.items() if lv == max(level.values())]
    assert top == ["cli"]  # the command line sits above everything


def test_architecture_md_shows_the_current_levels_and_every_folder(import_graph, report):
    """docs/architecture.md's picture is the one the script draws today, and its table
    names every folder and top-level module of the package (regenerate the picture with
    ``python benchmarks/import_graph.py --format layers``)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert picture.rstrip("\n").splitlines() == list(import_graph.layered(report))
    table = text.split("## The table", 1)[1].split("\n## ", 1)[0]
    missing = [node for node in report.folder_nodes if node not in ("blindiqa/__init__",)
               and f"`{node}" not in table and f"`{node}/" not in table]
    assert missing == []
