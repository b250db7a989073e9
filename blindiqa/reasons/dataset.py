"""The reasons probe's training set: pristine photos under seeded synthetic distortions,
each version reduced to the probe's input (:func:`~blindiqa.reasons.probe_input`).

Every pristine photo gives ``versions`` versions: the photo as it is (all families
absent), then versions each distorted by one family or, with probability
``pair_share``, by two different families, one after the other. A family is drawn
uniformly among the six, then a type of it and a level 1..5 uniformly. The target of a
version is, for each family, the level of its distortion (0 where absent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from blindiqa.distortions import NUM_LEVELS, apply_distortion
from blindiqa.io.decode import decode_image
from blindiqa.onepass import (
    OnePassConfig,
    OnePassEncoder,
    build_one_pass_encoder,
    limit_side,
    windows,
)
from blindiqa.reasons.families import FAMILIES, family_types
from blindiqa.reasons.features import probe_input

#: One distortion of a version: (type name, level).
Step = tuple[str, int]


def draw_recipe(generator: torch.Generator, pair_share: float = 1 / 3) -> list[Step]:
    """One or two (type, level) steps from different families, drawn with ``generator``.

    Raises:
        ValueError: ``pair_share`` outside ``[0, 1]``.
    """
    if not 0.0 <= pair_share <= 1.0:
        raise ValueError(f"pair_share must be in [0, 1], got {pair_share}")
    count = 2 if float(torch.rand((), generator=generator)) < pair_share else 1
    fams = torch.randperm(len(FAMILIES), generator=generator)[:count]
    steps = []
    for f in fams:
        types = family_types(FAMILIES[int(f)])
        name = types[int(torch.randint(len(types), (), generator=generator))]
        level = int(torch.randint(1, NUM_LEVELS + 1, (), generator=generator))
        steps.append((name, level))
    return steps


def recipe_target(steps: Sequence[Step]) -> torch.Tensor:
    """The ``(6,)`` target of a recipe: each family's level (0 where absent)."""
    from blindiqa.reasons.families import family_of

    target = torch.zeros(len(FAMILIES))
    for name, level in steps:
        fam = family_of(name)
        if fam is None:
            raise ValueError(f"{name} is in no reasons family")
        target[FAMILIES.index(fam)] = max(float(level), float(target[FAMILIES.index(fam)]))
    return target


def image_features(encoder: OnePassEncoder, image: torch.Tensor) -> torch.Tensor:
    """The probe's input of one ``(3, H, W)`` image, as the scoring pass computes it."""
    image = limit_side(image, encoder.config.max_side)
    with torch.inference_mode():
        grid = encoder(image)
    return probe_input(windows(grid, encoder.config, encoder.dims).features, image)


def build_reason_set(files: Sequence[Path], config: OnePassConfig, *, versions: int = 16,
                     pair_share: float = 1 / 3, seed: int = 0,
                     encoder: OnePassEncoder | None = None,
                     progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The training set of the probe (see the module docstring).

    Args:
        files: pristine photos.
        config: the engine settings whose descriptors the probe reads.
        versions: versions per photo, the undistorted one included (at least 2).
        pair_share: share of distorted versions with two families.
        seed: seeds every draw (recipes and the distortions' own noise).
        encoder: the frozen one-pass encoder of ``config`` (built when None).
        progress: called with 1 after each photo.

    Returns:
        ``features (images, versions, 2D + PIXEL_STATS)``, ``targets (images, versions, 6)``,
        ``recipes`` (per photo, per version, the ``type:level`` steps joined by ``+``),
        ``names``, ``config``, ``seed``.
    """
    if versions < 2:
        raise ValueError(f"versions must be at least 2, got {versions}")
    encoder = encoder or build_one_pass_encoder(config)
    gen = torch.Generator().manual_seed(seed)
    feats, targets, recipes, names = [], [], [], []
    for path in files:
        img = decode_image(path)
        rows_f, rows_t, rows_r = [image_features(encoder, img)], [torch.zeros(len(FAMILIES))], [""]
        for _ in range(versions - 1):
            steps = draw_recipe(gen, pair_share)
            out = img[None]
            for name, level in steps:
                out = apply_distortion(out, name, level, generator=gen)
            rows_f.append(image_features(encoder, out[0].clamp(0, 1)))
            rows_t.append(recipe_target(steps))
            rows_r.append("+".join(f"{n}:{lv}" for n, lv in steps))
        feats.append(torch.stack(rows_f))
        targets.append(torch.stack(rows_t))
        recipes.append(rows_r)
        names.append(str(path))
        if progress is not None:
            progress(1)
    return {"features": torch.stack(feats), "targets": torch.stack(targets),
            "recipes": recipes, "names": names, "config": config.to_json(), "seed": seed,
            "dims": list(encoder.dims)}
