"""blindiqa.scoring.ray's streaming of result batches into parts, without Ray: the
sidecar comes from the actors' provenance (with the run's shard), actors that loaded
different models stop the run, and the progress counts rows."""

from __future__ import annotations

from dataclasses import replace

import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed "
                         "(pip install 'blindiqa[ray]')")

from blindiqa.progress import Progress  # noqa: E402
from blindiqa.scoring.outputs import Tally  # noqa: E402
from blindiqa.scoring.parquet_rows import read_parquet_rows  # noqa: E402
from blindiqa.scoring.parts import PartWriter  # noqa: E402
from blindiqa.scoring.ray import (  # noqa: E402
    PROVENANCE_COLUMN,
    _schema,
    batch_provenance,
    batch_rows,
    write_parts,
)
from blindiqa.scoring.rows import Row  # noqa: E402
from blindiqa.scoring.sidecar import Provenance, read_sidecar  # noqa: E402

PROV = Provenance("default", "12" * 32, "0.1.0", 1024)


def _batch(names: str, prov: Provenance = PROV) -> pa.Table:
    n = len(names)
    return pa.Table.from_pydict(
        {"path": [f"{c}.jpg" for c in names], "score": [None, *[10.0] * (n - 1)],
         "quality": [None, *[60.0] * (n - 1)], "error": ["bad", *[None] * (n - 1)],
         "width": [None, *[300] * (n - 1)], "height": [None, *[200] * (n - 1)],
         PROVENANCE_COLUMN: [prov.to_json()] * n}, schema=_schema(True))


class _Dataset:
    """What ``write_parts`` uses of a Ray dataset."""

    def __init__(self, *batches: pa.Table) -> None:
        self.batches = batches

    def iter_batches(self, **kwargs):
        assert kwargs == {"batch_format": "pyarrow", "batch_size": None}
        return iter(self.batches)


def test_batches_become_rows_and_one_provenance() -> None:
    batch = _batch("abc")
    assert batch_rows(batch)[:2] == [Row("a.jpg", None, None, "bad", None, None),
                                     Row("b.jpg", 10.0, 60.0, None, 300, 200)]
    assert batch_provenance(batch) == [PROV]


def test_rows_stream_into_parts_with_the_actors_provenance_and_the_shard(tmp_path) -> None:
    writer = PartWriter(tmp_path, rows_per_part=4)
    tally = Tally()
    with Progress(7, enabled=False) as progress:
        assert write_parts(_Dataset(_batch("abc"), _batch("defg")), writer, tally,
                           progress, (1, 4)) is None
        assert progress.n == 7
    parts = writer.close()
    assert [len(read_parquet_rows(p)) for p in parts] == [4, 3]
    assert read_sidecar(parts[1]) == replace(PROV, shard=(1, 4),
                                             date=read_sidecar(parts[1]).date)
    assert (tally.ok, tally.bad, tally.total, tally.quality) == (5, 2, 50.0, 300.0)
    assert tally.summary("default").startswith("scored 5, failed 2, mean score 10.0000, "
                                               "mean quality 60.0/100")


def test_actors_with_different_bundles_stop_the_run(tmp_path) -> None:
    other = replace(PROV, bundle_sha256="34" * 32)
    with Progress(6, enabled=False) as progress:
        problem = write_parts(_Dataset(_batch("abc"), _batch("def", other)),
                              PartWriter(tmp_path), Tally(), progress)
    assert problem == ("the Ray actors loaded different models (bundle_sha256: "
                       f"{'12' * 32} and {'34' * 32})")
