"""The import graph of the blindiqa package: its folders, an arrow per import, its cycles.

Every ``.py`` file of the package is parsed with :mod:`ast` (nothing is imported), and
each import becomes an edge from one module to another module of the package:

* ``import a.b`` and ``from a import b`` (``b`` a module or a name), relative or not;
* imports inside functions ("deferred"): they run later, but a loop through them is a
  loop all the same;
* ``importlib.import_module(...)`` / ``__import__(...)`` with a string: a literal, an
  f-string whose literal prefix is completed by string constants of the same module
  (``f"blindiqa.cli.{name}"`` over ``COMMANDS``), or a variable, resolved to every
  string constant of the module that names a module of the package.

Imports under ``if TYPE_CHECKING:`` never run and are left out. A submodule's parent
packages are imported before it, but that is the package machinery, not an import the
module asks for, so it draws no arrow (as in grimp / import-linter).

The folder graph has one node per sub-package folder of ``blindiqa/`` and one per
top-level module (``blindiqa/__init__``, ``bursts.py``, ...), and one arrow per pair of
folders with any import between them. Cycles are listed for modules (strongly connected
components with one loop spelled out) and for folders.

    python benchmarks/import_graph.py                       # this checkout, Mermaid
    python benchmarks/import_graph.py --root /work/base13 --format dot
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "blindiqa"
_IMPORT_FUNCS = {"import_module", "__import__"}


@dataclass(frozen=True)
class Edge:
    """One import of a package module by another.

    Attributes:
        src: the importing module (dotted name).
        dst: the imported module.
        line: line of the import in ``src``.
        kind: ``"import"`` (module level), ``"deferred"`` (inside a function) or
            ``"importlib"`` (a string given to ``import_module`` / ``__import__``).
    """

    src: str
    dst: str
    line: int
    kind: str


def discover(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package_dir``."""
    name = package_dir.name
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((name, *parts))] = path
    return modules


class _Collector(ast.NodeVisitor):
    """The imports of one module, as raw dotted targets with line and kind."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[str, int, str]] = []
        self.dynamic: list[tuple[ast.expr, int, str]] = []
        self.strings: set[str] = set()
        self._depth = 0

    def _kind(self) -> str:
        return "deferred" if self._depth else "import"

    def _in_function(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._in_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._in_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._in_function(node)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":  # never runs: only the else branch counts
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, node.lineno, self._kind()))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:  # a submodule, else a name of ``base``
            self.found.append((f"{base}.{alias.name}" if alias.name != "*" else base,
                               node.lineno, self._kind()))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in _IMPORT_FUNCS and node.args:
            self.dynamic.append((node.args[0], node.lineno, "importlib"))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.strings.add(node.value)


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The package module that importing ``target`` asks for (its longest known prefix)."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


def _dynamic_targets(arg: ast.expr, strings: set[str], modules: dict[str, Path]
                     ) -> list[str]:
    """The modules a string given to ``import_module`` can name."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value] if arg.value in modules else []
    if isinstance(arg, ast.JoinedStr) and arg.values:
        head = arg.values[0]
        prefix = head.value if isinstance(head, ast.Constant) else ""
        return sorted(prefix + s for s in strings if prefix and prefix + s in modules)
    return sorted(s for s in strings if s in modules and s.startswith(PACKAGE))


def module_edges(modules: dict[str, Path]) -> tuple[list[Edge], list[str]]:
    """Every import between package modules, and the dynamic imports left unresolved."""
    edges: set[Edge] = set()
    unresolved = []
    for name, path in modules.items():
        collector = _Collector(name, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for target, line, kind in collector.found:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                dst = _resolve(target, modules)
                if dst is not None and dst != name:
                    edges.add(Edge(name, dst, line, kind))
        for arg, line, kind in collector.dynamic:
            targets = _dynamic_targets(arg, collector.strings, modules)
            if not targets:
                unresolved.append(f"{name}:{line}: {ast.unparse(arg)}")
            edges.update(Edge(name, t, line, kind) for t in targets if t != name)
    # one edge per (src, dst): the module-level one where there are several
    rank = {"import": 0, "importlib": 1, "deferred": 2}
    best: dict[tuple[str, str], Edge] = {}
    for e in sorted(edges, key=lambda e: (rank[e.kind], e.line)):
        best.setdefault((e.src, e.dst), e)
    return sorted(best.values(), key=lambda e: (e.src, e.dst)), unresolved


def folder_of(module: str) -> str:
    """The folder node of a module: ``models`` for ``blindiqa.models.base``, and the file
    for a top-level module (``bursts.py``, ``blindiqa/__init__``)."""
    parts = module.split(".")
    if len(parts) == 1:
        return f"{PACKAGE}/__init__"
    return parts[1]


def folder_edges(edges: Iterable[Edge], folders: set[str]) -> dict[tuple[str, str], list[Edge]]:
    """``(from folder, to folder)`` -> the module imports behind the arrow."""
    out: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for e in edges:
        a, b = folder_of(e.src), folder_of(e.dst)
        if a != b:
            out[(_node(a, folders), _node(b, folders))].append(e)
    return dict(sorted(out.items()))


def _node(folder: str, folders: set[str]) -> str:
    return folder if folder in folders or folder.endswith("__init__") else f"{folder}.py"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one node, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth is bounded by the package's size
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def one_loop(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest loop through the component's first node (breadth-first), closed."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]


def layers(graph: dict[str, set[str]], nodes: Iterable[str]) -> dict[str, int]:
    """Each node's level: 0 imports nothing, others sit one above the highest level they
    import; the nodes of a cycle share one level (the cycle counts as one node)."""
    comp_of = {v: tuple(c) for c in strongly_connected(graph) for v in c}
    level: dict[str, int] = {}

    def depth(v: str) -> int:
        if v not in level:
            members = comp_of.get(v, (v,))
            for m in members:
                level[m] = 0  # provisional: edges inside the cycle add nothing
            below = [depth(w) for m in members for w in graph.get(m, ())
                     if w not in members]
            for m in members:
                level[m] = 1 + max(below, default=-1)
        return level[v]

    for v in sorted(nodes):
        depth(v)
    return level


@dataclass
class Report:
    """The import graph of one checkout."""

    modules: dict[str, Path]
    edges: list[Edge]
    unresolved: list[str]
    folders: dict[tuple[str, str], list[Edge]]
    folder_nodes: list[str]

    def graph(self) -> dict[str, set[str]]:
        g: dict[str, set[str]] = defaultdict(set)
        for e in self.edges:
            g[e.src].add(e.dst)
        return g

    def folder_graph(self) -> dict[str, set[str]]:
        g: dict[str, set[str]] = defaultdict(set)
        for a, b in self.folders:
            g[a].add(b)
        return g

    def module_cycles(self) -> list[list[str]]:
        return strongly_connected(self.graph())

    def folder_cycles(self) -> list[list[str]]:
        return strongly_connected(self.folder_graph())


def analyse(root: Path) -> Report:
    """The import graph of the package in the checkout ``root``."""
    package_dir = root / PACKAGE
    modules = discover(package_dir)
    edges, unresolved = module_edges(modules)
    folders = {p.name for p in package_dir.iterdir()
               if p.is_dir() and (p / "__init__.py").is_file()}
    nodes = sorted({_node(folder_of(m), folders) for m in modules})
    return Report(modules, edges, unresolved, folder_edges(edges, folders), nodes)


def _ident(node: str) -> str:
    return node.replace("/", "_").replace(".", "_")


def _arrows(report: Report) -> Iterator[tuple[str, str, int, bool]]:
    """``(from, to, imports behind it, whether the arrow closes a cycle)`` per folder pair."""
    comp = {n: i for i, c in enumerate(report.folder_cycles()) for n in c}
    for (a, b), behind in report.folders.items():
        yield a, b, len(behind), a in comp and comp[a] == comp.get(b)


def mermaid(report: Report) -> Iterator[str]:
    """The folder graph as a Mermaid flowchart; arrows inside a cycle are dotted."""
    yield "flowchart TD"
    yield from (f'    {_ident(node)}["{node}"]' for node in report.folder_nodes)
    for a, b, n, looped in _arrows(report):
        yield f"    {_ident(a)} {'-.->' if looped else '-->'}|{n}| {_ident(b)}"


def layered(report: Report) -> Iterator[str]:
    """The folders as a Mermaid flowchart of their levels, the command line on top: one
    box per level holding its folders, one arrow from each level to the one below (a
    folder imports only folders of lower levels; the import graph test keeps it so)."""
    level = layers(report.folder_graph(), report.folder_nodes)
    by_level: dict[int, list[str]] = defaultdict(list)
    for node, lv in level.items():
        by_level[lv].append(node)
    yield "flowchart TB"
    order = sorted(by_level, reverse=True)
    for lv in order:
        yield f'    subgraph L{lv}["level {lv}"]'
        yield "        direction LR"
        yield from (f'        {_ident(node)}["{node}"]' for node in sorted(by_level[lv]))
        yield "    end"
    for upper, lower in zip(order, order[1:], strict=False):
        yield f"    L{upper} --> L{lower}"


def dot(report: Report) -> Iterator[str]:
    """The folder graph in Graphviz DOT; arrows inside a cycle are red and dashed."""
    yield "digraph blindiqa {\n    rankdir=TB; node [shape=box];"
    yield from (f'    "{node}";' for node in report.folder_nodes)
    for a, b, n, looped in _arrows(report):
        yield f'    "{a}" -> "{b}" [label={n}{", color=red, style=dashed" if looped else ""}];'
    yield "}"


def cycle_lines(report: Report) -> Iterator[str]:
    """The cycles, module level then folder level, each with one loop spelled out."""
    kinds = {(e.src, e.dst): e for e in report.edges}
    graph = report.graph()
    comps = report.module_cycles()
    yield f"module cycles: {len(comps)}"
    for comp in comps:
        loop = one_loop(graph, comp)
        steps = " -> ".join(
            f"{a} ({kinds[(a, b)].kind}, line {kinds[(a, b)].line})"
            for a, b in zip(loop, loop[1:], strict=False))
        yield f"- {len(comp)} modules: {', '.join(comp)}"
        yield f"  e.g. {steps} -> {loop[-1]}"
    fgraph = report.folder_graph()
    fcomps = report.folder_cycles()
    yield f"folder cycles: {len(fcomps)}"
    for comp in fcomps:
        loop = one_loop(fgraph, comp)
        why = []
        for a, b in zip(loop, loop[1:], strict=False):
            e = report.folders[(a, b)][0]
            why.append(f"{a} -> {b} ({e.src} imports {e.dst}, {e.kind})")
        yield f"- {' -> '.join(loop)}"
        yield from (f"  {w}" for w in why)


def layer_lines(report: Report) -> Iterator[str]:
    """The folders by level (each imports only folders of lower levels, unless a cycle
    joins them: those are starred)."""
    level = layers(report.folder_graph(), report.folder_nodes)
    in_cycle = {n for comp in report.folder_cycles() for n in comp}
    by_level: dict[int, list[str]] = defaultdict(list)
    for node, lv in level.items():
        by_level[lv].append(f"{node}*" if node in in_cycle else node)
    for lv in sorted(by_level):
        yield f"level {lv}: {', '.join(sorted(by_level[lv]))}"


#: ``--format`` -> the drawing.
_DRAWINGS = {"mermaid": mermaid, "dot": dot, "layers": layered}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout holding blindiqa/ (default: this one)")
    parser.add_argument("--format", choices=tuple(_DRAWINGS), default="mermaid",
                        help="how to draw the folder graph: Mermaid with an arrow per "
                             "folder pair, Graphviz DOT, or Mermaid by levels (layers) "
                             "(default: mermaid)")
    parser.add_argument("--edges", action="store_true",
                        help="also list every module import behind each folder arrow")
    args = parser.parse_args(argv)
    report = analyse(args.root)
    print("\n".join(_DRAWINGS[args.format](report)))
    print()
    print(f"{len(report.modules)} modules, {len(report.edges)} imports between them, "
          f"{len(report.folders)} folder arrows")
    print("\n".join(layer_lines(report)))
    print("\n".join(cycle_lines(report)))
    if report.unresolved:
        print("dynamic imports not resolved: " + "; ".join(report.unresolved))
    if args.edges:
        for (a, b), behind in report.folders.items():
            print(f"{a} -> {b}: " + ", ".join(f"{e.src}->{e.dst} ({e.kind})" for e in behind))
    return 1 if report.module_cycles() or report.folder_cycles() else 0


if __name__ == "__main__":
    sys.exit(main())
