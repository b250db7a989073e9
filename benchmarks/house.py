"""The shape of the package, for a renovation's before and after (issue 24).

Prints one table per measure, read from the sources with ``ast`` (nothing is imported):

- the import graph's counts (``benchmarks/import_graph.py``): modules, imports between
  them, folder arrows, levels;
- lines per sub-package (code lines: not blank, not only a comment) and modules;
- the biggest modules;
- imports inside functions (not at module level, not under ``if TYPE_CHECKING:``), per
  sub-package: each is a deferred import that some cycle or cost should justify.

Usage::

    python benchmarks/house.py                 # this checkout
    python benchmarks/house.py --root OTHER    # another checkout, e.g. a git worktree of
                                               # the commit before a renovation
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_graph import analyse, folder_of, layers  # noqa: E402


def code_lines(path: Path) -> int:
    """Lines that are neither blank nor only a comment."""
    n = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            n += 1
    return n


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def function_imports(path: Path) -> int:
    """The ``import`` statements inside functions (``TYPE_CHECKING`` blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    count = 0

    def visit(node: ast.AST, in_function: bool) -> None:
        nonlocal count
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                count += 1
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inside)

    visit(tree, False)
    return count


def package_of(module: str) -> str:
    """The sub-package (folder) of a module, or the module itself at the top level."""
    return folder_of(module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout holding blindiqa/ (default: this one)")
    parser.add_argument("--biggest", type=int, default=12, metavar="N",
                        help="how many of the biggest modules to list (default: 12)")
    args = parser.parse_args(argv)
    report = analyse(args.root)
    levels = layers(report.folder_graph(), report.folder_nodes)
    print(f"## Import graph ({args.root})\n")
    print("| modules | imports between them | folders | folder arrows | levels |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {len(report.modules)} | {len(report.edges)} | {len(report.folder_nodes)} | "
          f"{len(report.folders)} | {max(levels.values()) + 1 if levels else 0} |")

    lines: Counter = Counter()
    modules: Counter = Counter()
    deferred: Counter = Counter()
    sizes = []
    for module, path in report.modules.items():
        package = package_of(module)
        n = code_lines(path)
        lines[package] += n
        modules[package] += 1
        deferred[package] += function_imports(path)
        sizes.append((n, path.relative_to(args.root).as_posix()))
    print("\n## Lines per sub-package\n")
    print("| package | modules | code lines | imports inside functions |")
    print("|---|---:|---:|---:|")
    for package, n in lines.most_common():
        print(f"| {package} | {modules[package]} | {n} | {deferred[package]} |")
    print(f"| **all** | {sum(modules.values())} | {sum(lines.values())} | "
          f"{sum(deferred.values())} |")
    print(f"\n## The {args.biggest} biggest modules\n")
    print("| module | code lines |")
    print("|---|---:|")
    for n, name in sorted(sizes, reverse=True)[:args.biggest]:
        print(f"| {name} | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
