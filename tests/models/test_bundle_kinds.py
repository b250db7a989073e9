"""New bundles are written with the kinds ``one-pass`` and ``crops``; the kinds' old names
``dense-gaussian`` and ``gaussian-distance``, which the shipped bundles keep (their
checksums are pinned), still load, to the same model with the same scores."""

from __future__ import annotations

import pytest
import torch

import blindiqa
from blindiqa.models.bundle import load_bundle, save_bundle
from blindiqa.models.crops import CropsModel
from blindiqa.models.one_pass import OnePassModel
from blindiqa.models.registry import bundle_loader, bundle_options
from blindiqa.models.shipped import SHIPPED, shipped_path


@pytest.mark.parametrize(("name", "old", "new", "cls"), [
    ("default", "dense-gaussian", "one-pass", OnePassModel),
    ("contentsep", "gaussian-distance", "crops", CropsModel),
])
def test_the_old_kind_loads_and_scores_as_the_new_one(name, old, new, cls, tmp_path, photo,
                                                      photo2):
    tensors, meta = load_bundle(shipped_path(SHIPPED[name][0]))
    assert meta["kind"] == old  # the shipped file as it is
    shipped = blindiqa.load(name)
    assert type(shipped) is cls and shipped.bundle_contents()[1]["kind"] == new
    assert bundle_loader(old) is bundle_loader(new)
    assert bundle_options(old) == bundle_options(new)
    scores = {}
    for kind in (old, new):
        path = tmp_path / f"{kind}.safetensors"
        save_bundle(path, tensors, {**meta, "kind": kind})
        model = blindiqa.load(path)
        assert type(model) is cls
        scores[kind] = model.score([photo, photo2])
    assert torch.equal(scores[old], scores[new])
    assert torch.equal(scores[new], shipped.score([photo, photo2]))


def test_the_fit_count_reads_old_and_new_provenance():
    """One-pass fits record their count as ``windows``; bundles fitted before, and crops
    fits, say ``patches``."""
    from blindiqa.models.fit import fitted_count

    assert fitted_count({"images": 2, "windows": 40}) == "40 windows"
    assert fitted_count({"images": 2, "patches": 12}) == "12 patches"
