"""The sidecar of a row file: what made its rows, in a small JSON file beside it.

``blindiqa score --out scores.csv`` also writes ``scores.csv.json`` (:func:`sidecar_path`)::

    {"model": "default", "bundle_sha256": "3f...", "version": "0.1.0",
     "max_side": 1024, "shard": null, "date": "2026-12-06T04:20:00Z"}

``--resume`` refuses a file whose sidecar names another model, bundle, version or
``max_side`` (:data:`CHECKED`), and ``blindiqa merge`` refuses parts that disagree on
them, so that one row file never mixes scores from two scorers.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from blindiqa.io.atomic import atomic_write

#: The fields that must agree between the rows of one file (all but the date and shard).
CHECKED: tuple[str, ...] = ("model", "bundle_sha256", "version", "max_side")


class SidecarError(ValueError):
    """A sidecar cannot be read, or is not a blindiqa sidecar."""


@dataclass(frozen=True)
class Provenance:
    """What made the rows of a row file.

    Attributes:
        model: the model's name (a registry name, or a bundle's file name).
        bundle_sha256: the SHA-256 (hex) of the model's bundle file, or None where the
            model has none.
        version: the blindiqa version that scored.
        max_side: the long side the model's engine scales images down to (0: native
            size), or None where its engine has no such setting.
        shard: ``[i, N]`` for a ``--shard i/N`` run, else None.
        date: when the sidecar was written: UTC, ISO 8601 (``2026-12-06T04:20:00Z``).
        mismatched: for a file merged with ``--allow-mismatch``, the fields its parts
            disagreed on (those fields are then None); else empty.
    """

    model: str | None
    bundle_sha256: str | None
    version: str | None
    max_side: int | None
    shard: tuple[int, int] | None = None
    date: str | None = None
    mismatched: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The sidecar's text (``mismatched`` only where non-empty)."""
        data = asdict(self)
        data["shard"] = list(self.shard) if self.shard is not None else None
        if not self.mismatched:
            del data["mismatched"]
        else:
            data["mismatched"] = list(self.mismatched)
        return json.dumps(data, indent=2) + "\n"


def utc_now() -> str:
    """The current UTC time in ISO 8601, to the second (``2026-12-06T04:20:00Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sidecar_path(rows: str | os.PathLike) -> Path:
    """The sidecar of a row file: its name with ``.json`` added (``scores.csv.json``)."""
    return Path(os.fspath(rows) + ".json")


def write_sidecar(rows: str | os.PathLike, prov: Provenance) -> Path:
    """Write the sidecar of ``rows`` atomically, dated now; returns its path."""
    path = sidecar_path(rows)
    with atomic_write(path, "w") as fh:
        fh.write(replace(prov, date=utc_now()).to_json())
    return path


def _from_dict(data: Any, where: str) -> Provenance:
    if not isinstance(data, dict):
        raise SidecarError(f"{where}: not a blindiqa sidecar (not a JSON object)")
    names = {f.name for f in fields(Provenance)}
    missing = [name for name in CHECKED if name not in data]
    if missing:
        raise SidecarError(f"{where}: not a blindiqa sidecar (no {', '.join(missing)})")
    kept = {k: v for k, v in data.items() if k in names}
    shard = kept.get("shard")
    kept["shard"] = tuple(shard) if isinstance(shard, list) else None
    kept["mismatched"] = tuple(kept.get("mismatched") or ())
    return Provenance(**kept)


def read_sidecar(rows: str | os.PathLike) -> Provenance | None:
    """The sidecar of row file ``rows``, or None where it has none.

    Raises:
        SidecarError: the sidecar exists but cannot be read or is not a sidecar.
    """
    path = sidecar_path(rows)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SidecarError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
                           ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SidecarError(f"{path}: not JSON ({exc})") from None
    return _from_dict(data, str(path))


def differences(a: Provenance, b: Provenance) -> list[str]:
    """The :data:`CHECKED` fields on which ``a`` and ``b`` disagree, in that order."""
    return [name for name in CHECKED if getattr(a, name) != getattr(b, name)]


def describe(prov: Provenance, name: str) -> str:
    """One field of ``prov`` as a message shows it."""
    value = getattr(prov, name)
    return "none" if value is None else str(value)


def combine(named: list[tuple[str, Provenance]]) -> tuple[Provenance, list[str]]:
    """The provenance of rows joined from several files, and where they disagree.

    Args:
        named: ``(file name, its sidecar)`` for each file that has one (at least one).

    Returns:
        The joined provenance (no shard; a field the files disagree on is None and named
        in ``mismatched``), and one message per such field naming the files and what
        each says, e.g. ``model: a.csv says default, b.csv says niqe``.
    """
    if not named:
        raise ValueError("combine needs at least one sidecar")
    agreed: dict[str, Any] = {}
    problems: list[str] = []
    mismatched: list[str] = []
    for name in CHECKED:
        said: dict[str, list[str]] = {}
        for part, prov in named:
            said.setdefault(describe(prov, name), []).append(part)
        if len(said) == 1:
            agreed[name] = getattr(named[0][1], name)
            continue
        agreed[name] = None
        mismatched.append(name)
        problems.append(f"{name}: " + ", ".join(
            f"{' and '.join(parts)} {'say' if len(parts) > 1 else 'says'} {value}"
            for value, parts in said.items()))
    return Provenance(**agreed, shard=None, mismatched=tuple(mismatched)), problems
