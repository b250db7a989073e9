"""Exporting a package's names on first access (PEP 562), so that importing the package
stays cheap: ``blindiqa``, :mod:`blindiqa.io`, :mod:`blindiqa.scoring` and
:mod:`blindiqa.viz` each export names whose modules import torch, while their light
modules (the registry, the row files, the map options' checks) must not pull it in."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(package: str, table: Mapping[str, str], names: Iterable[str] = (),
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package exporting names lazily.

    Args:
        package: the package's ``__name__``.
        table: exported name -> the module defining it, imported on first access (the
            value is then kept in the package, so the next access is a plain lookup).
        names: the package's ``__all__``, shown by ``dir()``.

    Returns:
        ``(__getattr__, __dir__)``, to assign in the package's ``__init__``.
    """
    shown = tuple(names)

    def getattr_(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(shown))

    return getattr_, dir_
