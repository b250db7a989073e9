"""The report's map pictures: the opacity is checked before anything is written (the
photo beside its map, through ``blindiqa report``: tests/cli/test_report_command.py)."""

from __future__ import annotations

import pytest

import blindiqa
import blindiqa.viz
from blindiqa.report import write_report
from blindiqa.scoring import score_files
from blindiqa.scoring.inputs import iter_inputs


def test_write_report_checks_the_opacity_before_writing(report_photos, tmp_path):
    model = blindiqa.load("niqe")
    records = score_files(model, iter_inputs([str(report_photos / "cat.png")]),
                          with_maps=True)
    with pytest.raises(ValueError, match="opacity"):
        write_report(records, tmp_path / "rep", model_name="niqe", map_opacity=2.0)
    assert not (tmp_path / "rep").exists()
