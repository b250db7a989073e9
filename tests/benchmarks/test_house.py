"""benchmarks/house.py: code lines, imports inside functions, and the tables it prints."""

from __future__ import annotations

import textwrap


def test_code_lines_and_function_imports(tmp_path, load_benchmark):
    house = load_benchmark("house")
    src = tmp_path / "m.py"
    src.write_text(textwrap.dedent('''\
        """Doc."""
        import os  # module level: not counted
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from pathlib import Path  # type checkers only: not counted


        def f():
            # a comment line
            import json

            def g():
                from math import pi
                return pi
            return json, g


        class C:
            def m(self):
                import re
                return re
        '''))
    assert house.function_imports(src) == 3
    assert house.code_lines(src) == 15


def test_prints_the_tables_of_this_checkout(capsys, load_benchmark):
    house = load_benchmark("house")
    assert house.main(["--biggest", "3"]) == 0
    out = capsys.readouterr().out
    assert "## Import graph" in out and "## Lines per sub-package" in out
    assert out.count(".py | ") == 3  # the three biggest modules
    assert "| cli |" in out and "| **all** |" in out
