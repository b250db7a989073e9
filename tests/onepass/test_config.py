"""OnePassConfig: validation, JSON round trip, window sizes."""

from __future__ import annotations

import pytest

from blindiqa.onepass import OnePassConfig


def test_round_trip_keeps_every_field():
    cfg = OnePassConfig(taps=("stage2", "stage4"), window=3, window_fraction=0.0625,
                        window_shape="gaussian", group_norm="l2", distance="patch",
                        selection="activity", max_side=1024)
    assert OnePassConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize("change, message", [
    ({"taps": ()}, "at least one tap"),
    ({"grid_stride": 12}, "grid_stride"),
    ({"window": 0}, "at least 1 cell"),
    ({"window_stride": 0}, "at least 1 cell"),
    ({"window_fraction": 1.5}, "window_fraction"),
    ({"window_shape": "disc"}, "window_shape"),
    ({"group_norm": "pca"}, "group_norm"),
    ({"distance": "kl"}, "distance"),
    ({"selection": "random"}, "selection"),
    ({"max_side": -1}, "max_side"),
    ({"ridge": -1.0}, "ridge"),
    ({"tile": 100}, "tile"),
    ({"tile_margin": 10}, "tile_margin"),
])
def test_bad_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        OnePassConfig(**change)


def test_unknown_setting_in_a_bundle_is_named():
    with pytest.raises(ValueError, match="unknown engine setting.*colour_space"):
        OnePassConfig.from_json({**OnePassConfig().to_json(), "colour_space": "lab"})


def test_window_side_follows_the_fraction_with_a_floor():
    cfg = OnePassConfig(window=3, window_fraction=0.0625)
    assert cfg.window_cells(31, 31) == 3          # 31 / 16 rounds to 2: the floor wins
    assert cfg.window_cells(187, 250) == 12       # a 3000x4000 photo at 16 px per cell
    assert cfg.min_side == 48
