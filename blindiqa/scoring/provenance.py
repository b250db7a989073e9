"""What a loaded model puts in the sidecar of the rows it scores
(:class:`~blindiqa.scoring.sidecar.Provenance`)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from blindiqa.scoring.sidecar import Provenance
from blindiqa.version import __version__


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def engine_max_side(model: Any) -> int | None:
    """The ``max_side`` of a model's engine config (0: native size), or None where the
    model has no engine config with one."""
    value = getattr(getattr(model, "config", None), "max_side", None)
    return None if value is None else int(value)


def provenance_of(model: Any, shard: tuple[int, int] | None = None) -> Provenance:
    """The provenance of rows ``model`` scores (undated: the writer dates it).

    Args:
        model: a loaded :class:`~blindiqa.models.base.QualityModel`.
        shard: the ``--shard (i, N)`` of the run, if any.

    Raises:
        OSError: the model's bundle file cannot be read.
    """
    bundle = getattr(model, "bundle_path", None)
    return Provenance(model=model.name,
                      bundle_sha256=file_sha256(bundle) if bundle is not None else None,
                      version=__version__, max_side=engine_max_side(model),
                      shard=tuple(shard) if shard is not None else None)
