"""Registry of named scorers and of the bundle kinds that can be loaded from a file.

Modelled on timm's ``create_model``: every named model is a :class:`ModelEntry`; model
bundle files carry a ``kind`` in their metadata which picks the loader registered for it.

This module imports no model: each model module registers itself when imported, and
:mod:`blindiqa.catalogue` imports all of them (``import blindiqa`` does that), so the
imports run one way, from the catalogue down to here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from blindiqa.models.base import QualityModel


@dataclass(frozen=True)
class ModelEntry:
    """A named scorer.

    Attributes:
        name: the name users type (``--model NAME``).
        factory: ``factory(**options) -> QualityModel``.
        feature_dim: length of the feature vector.
        weights: where its weights or parameters come from.
        description: one line for ``blindiqa models``.
        paper: the paper to cite.
        fit: optional ``fit(dirs, out, **options)`` building this kind of model from
            pristine images (``blindiqa fit-pristine --model NAME``).
    """

    name: str
    factory: Callable[..., QualityModel]
    feature_dim: int
    weights: str
    description: str = ""
    paper: str = ""
    fit: Callable[..., Any] | None = None
    options: tuple[str, ...] = field(default_factory=tuple)

    @property
    def lower_better(self) -> bool:
        """True where a smaller score is better: every scorer is a
        :class:`~blindiqa.models.base.QualityModel`, which says it once."""
        return QualityModel.lower_better


_MODELS: dict[str, ModelEntry] = {}
#: bundle kind -> loader(tensors, metadata, name) -> QualityModel
_BUNDLE_LOADERS: dict[str, Callable[..., QualityModel]] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add a named scorer to the registry (a later registration replaces an earlier one)."""
    _MODELS[entry.name] = entry
    return entry


def register_bundle_kind(kind: str, loader: Callable[..., QualityModel]) -> None:
    """Declare how a bundle file whose metadata says ``kind`` is turned into a model."""
    _BUNDLE_LOADERS[kind] = loader


def bundle_loader(kind: str) -> Callable[..., QualityModel]:
    """The loader registered for bundle ``kind``.

    Raises:
        ValueError: no loader is registered for ``kind``.
    """
    try:
        return _BUNDLE_LOADERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown model bundle kind {kind!r}; known: {sorted(_BUNDLE_LOADERS)}"
        ) from None


def list_models() -> list[ModelEntry]:
    """All named scorers, sorted by name."""
    return [_MODELS[k] for k in sorted(_MODELS)]


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered scorer."""
    return name in _MODELS


def get_entry(name: str) -> ModelEntry:
    """The entry of the named scorer.

    Raises:
        ValueError: no scorer of that name (the message lists the names).
    """
    try:
        return _MODELS[name]
    except KeyError:
        raise unknown_model_error(name) from None


def unknown_model_error(name: str) -> ValueError:
    """The error for a name that is neither a registered scorer nor a model file; it
    lists the names."""
    return ValueError(f"unknown model {name!r}; available: {', '.join(sorted(_MODELS))} "
                      "(or give the path of a model file)")


def create_model(name: str, **options: Any) -> QualityModel:
    """Build the named scorer. ``options`` go to its factory (e.g. ``params=`` for NIQE)."""
    return get_entry(name).factory(**options)

