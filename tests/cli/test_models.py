"""``blindiqa models``: one line per registered scorer under a header."""

from __future__ import annotations

from bench_helpers import FAKE

from blindiqa.cli.main import main
from blindiqa.models.registry import list_models


def test_models_lists_default(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "lower_better", "features", "weights"]
    assert any(line.startswith("default ") and " True " in line for line in out)


def test_models_lists_every_registered_scorer_once_in_columns(fake_model, capsys):
    assert main(["models"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [e.info.name for e in list_models()]
    (fake,) = [line for line in lines if line.split()[0] == FAKE]
    assert fake.split() == [FAKE, "True", "1", "none"]
    # every column starts where its header does
    for column in ("lower_better", "features", "weights"):
        at = header.index(column)
        assert all(line[at - 2:at] == "  " and line[at] != " " for line in lines)
