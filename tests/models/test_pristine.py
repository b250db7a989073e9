"""blindiqa.models.pristine: what the crops and one-pass models share."""

from __future__ import annotations

import pytest
import torch

import blindiqa
from blindiqa.models.crops import CropsModel
from blindiqa.models.one_pass import OnePassModel
from blindiqa.models.pristine import BUNDLED_WEIGHTS, PristineGaussianModel


def test_both_paths_share_the_pristine_base():
    assert issubclass(CropsModel, PristineGaussianModel)
    assert issubclass(OnePassModel, PristineGaussianModel)


def test_the_statistics_must_fit_the_features(small_model):
    with pytest.raises(ValueError, match=r"shape \(3,\)/\(40, 40\) do not match the feature "
                                         r"size 40$"):
        CropsModel(small_model.extractor, small_model.config, torch.zeros(3),
                   small_model.pristine_cov)


def test_the_bundle_holds_the_gaussian_kind_config_and_provenance(small_model):
    tensors, meta = small_model.bundle_contents()
    assert set(tensors) == {"pristine.mean", "pristine.cov"}  # pretrained: no weights
    assert meta == {"kind": "crops", "config": small_model.config.to_json(),
                    "provenance": small_model.provenance}
    assert small_model.info().lower_better is small_model.lower_better is True
    assert small_model.weights_source() != BUNDLED_WEIGHTS


def test_the_one_pass_bundle_adds_nothing_without_a_head():
    model = blindiqa.load("default")
    tensors, meta = model.bundle_contents()
    assert set(tensors) == {"pristine.mean", "pristine.cov"} and set(meta) == {
        "kind", "config", "provenance"}
    assert meta["kind"] == "one-pass" and model.info().lower_better
