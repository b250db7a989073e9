"""Scoring many files: one home for both engines and for their inputs and outputs.

- :mod:`~blindiqa.scoring.local`: scoring files in this process, decoding in
  crash-isolated worker processes (:func:`score_files`, :class:`ScoreRecord`), and the
  loop of ``blindiqa score`` over them (:func:`~blindiqa.scoring.local.score_into`);
- :mod:`~blindiqa.scoring.ray`: the same on a pool of Ray actors (:func:`score_with_ray`);
- the input side, :mod:`~blindiqa.scoring.inputs`: the path arguments and manifest,
  walked once, sharded and, on resume, less the rows already written;
- the output side: the row files (:mod:`~blindiqa.scoring.rows`, Parquet in
  :mod:`~blindiqa.scoring.parquet_rows`, the Ray engine's numbered parts in
  :mod:`~blindiqa.scoring.parts`), their sidecars (:mod:`~blindiqa.scoring.sidecar`,
  filled from a model by :mod:`~blindiqa.scoring.provenance`), and the quality maps and
  the tally of a run (:mod:`~blindiqa.scoring.outputs`).

The command line (``blindiqa score``, ``report``, ``merge``, ``fit-scale``) parses
options and calls into this package. The names below are imported on first access
(PEP 562): the local and Ray engines import torch, the input and output sides do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blindiqa.lazy import lazy_exports

if TYPE_CHECKING:
    from blindiqa.scoring.local import ScoreRecord, score_files
    from blindiqa.scoring.ray import score_with_ray

__all__ = ["ScoreRecord", "score_files", "score_with_ray"]

#: name -> the module that defines it, imported on first access.
_LAZY = {
    "ScoreRecord": "blindiqa.scoring.local",
    "score_files": "blindiqa.scoring.local",
    "score_with_ray": "blindiqa.scoring.ray",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
