"""Registry of named scorers and of the bundle kinds that can be loaded from a file.

Modelled on timm's ``create_model``: every named model is a :class:`ModelEntry` (its
:class:`~blindiqa.models.base.ModelInfo` and how to build it); model
bundle files carry a ``kind`` in their metadata which picks the loader registered for it.

This module imports no model, and nothing heavy (no torch): each model module registers
itself when imported, and :mod:`blindiqa.catalogue` imports all of them. Nothing imports
the catalogue at start-up; instead the package's front door (``blindiqa/__init__``,
which Python runs before any ``blindiqa`` module) hands this registry a loader that
imports it (:func:`set_builtins_loader`), and every lookup here (:func:`list_models`,
:func:`is_model`, :func:`get_entry`, :func:`create_model`, :func:`bundle_loader`,
:func:`unknown_model_error`) runs that loader once, on first use, before it answers. So
the imports still run one way (catalogue -> model modules -> registry) and the registry
is complete whenever it is asked, while ``import blindiqa`` or ``blindiqa --help``
imports no torch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blindiqa.models.base import ModelInfo, QualityModel


@dataclass(frozen=True)
class ModelEntry:
    """A named scorer's registration: its metadata and how to build it.

    Attributes:
        info: its metadata (name users type as ``--model NAME``, feature size, weights,
            description, paper), the record its models' ``info()`` also return.
        factory: ``factory(**options) -> QualityModel``.
        fit: optional ``fit(dirs, out, **options)`` building this kind of model from
            pristine images (``blindiqa fit-pristine --model NAME``).
        options: the options its factory takes.
        differentiable: its score is differentiable with respect to the pixels
            (``blindiqa.create_metric(NAME, as_loss=True)`` works).
    """

    info: ModelInfo
    factory: Callable[..., QualityModel]
    fit: Callable[..., Any] | None = None
    options: tuple[str, ...] = field(default_factory=tuple)
    differentiable: bool = False

    @property
    def name(self) -> str:
        """The name it is registered under: ``info.name``."""
        return self.info.name


_MODELS: dict[str, ModelEntry] = {}
#: bundle kind -> loader(tensors, metadata, name) -> QualityModel
_BUNDLE_LOADERS: dict[str, Callable[..., QualityModel]] = {}
#: The options each bundle kind's loader takes (beyond the bundle and the name).
_BUNDLE_OPTIONS: dict[str, tuple[str, ...]] = {}

#: Imports the built-in model modules (set by the package's front door): ``loader(key)``
#: imports the module that registers scorer or bundle kind ``key`` where it knows one
#: and returns False (more remain), else, and for ``None``, all of them and returns True.
_builtins_loader: Callable[[str | None], bool] | None = None
_builtins_done = False
_builtins_loading = False
_builtins_lock = threading.RLock()


def set_builtins_loader(loader: Callable[[str | None], bool]) -> None:
    """Say how the built-in scorers get registered: ``loader(key)`` imports the module
    that registers the scorer or bundle kind ``key`` and returns False, or (``key`` None
    or unknown to it) every such module and returns True (``blindiqa/__init__`` passes
    :func:`blindiqa.catalogue.register_builtins`). Lookups run it."""
    global _builtins_loader
    _builtins_loader = loader


def ensure_builtins(key: str | None = None) -> None:
    """Register the built-in scorers and bundle kinds that have not been yet: the one
    that registers ``key`` (a scorer name or bundle kind) where the loader knows it, else
    all of them.

    Looking up ``default`` so imports only the one-pass model's modules, not the
    baselines and scipy (0.4 s of a ``blindiqa score`` start-up). Once everything is
    registered, this returns at once; a failed attempt (e.g. a missing dependency)
    raises and is retried by the next lookup. Entries registered before the loader ran
    keep precedence over built-ins of the same name, as though the built-ins had been
    registered first. A lookup made while the loader runs (from a model module being
    imported) answers with what is registered so far.
    """
    global _builtins_done, _builtins_loading
    if _builtins_done:
        return
    with _builtins_lock:
        if _builtins_done or _builtins_loading or _builtins_loader is None:
            return
        if key is not None and (key in _MODELS or key in _BUNDLE_LOADERS):
            return  # registered already (by its module, or by the user first)
        models, loaders, options = dict(_MODELS), dict(_BUNDLE_LOADERS), dict(_BUNDLE_OPTIONS)
        _builtins_loading = True
        try:
            complete = _builtins_loader(key)
        finally:
            _builtins_loading = False
        _MODELS.update(models)
        _BUNDLE_LOADERS.update(loaders)
        _BUNDLE_OPTIONS.update(options)
        _builtins_done = bool(complete)


def register_model(entry: ModelEntry) -> ModelEntry:
    """Add a named scorer to the registry (a later registration replaces an earlier one;
    the built-ins count as registered first)."""
    _MODELS[entry.name] = entry
    return entry


def register_bundle_kind(kind: str, loader: Callable[..., QualityModel],
                         options: tuple[str, ...] = ()) -> None:
    """Declare how a bundle file whose metadata says ``kind`` is turned into a model:
    ``loader(tensors, metadata, name=..., **opts)``, where ``opts`` may hold only the
    keyword arguments named in ``options``."""
    _BUNDLE_LOADERS[kind] = loader
    _BUNDLE_OPTIONS[kind] = tuple(options)


def bundle_options(kind: str) -> tuple[str, ...]:
    """The options the loader of bundle ``kind`` takes (see :func:`register_bundle_kind`).

    Raises:
        ValueError: no loader is registered for ``kind``.
    """
    bundle_loader(kind)  # loads the built-ins, or raises for an unknown kind
    return _BUNDLE_OPTIONS.get(kind, ())


def refuse_options(options: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Raise where ``options`` names one that ``allowed`` does not (``what`` names the
    model or kind of model file in the message).

    Raises:
        ValueError: "option(s) X do not apply to WHAT".
    """
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise ValueError(f"option(s) {', '.join(extra)} do not apply to {what}")


def bundle_loader(kind: str) -> Callable[..., QualityModel]:
    """The loader registered for bundle ``kind``.

    Raises:
        ValueError: no loader is registered for ``kind``.
    """
    ensure_builtins(kind)
    if kind not in _BUNDLE_LOADERS:
        ensure_builtins()
    try:
        return _BUNDLE_LOADERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown model bundle kind {kind!r}; known: {sorted(_BUNDLE_LOADERS)}"
        ) from None


def list_models() -> list[ModelEntry]:
    """All named scorers, sorted by name."""
    ensure_builtins()
    return [_MODELS[k] for k in sorted(_MODELS)]


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered scorer."""
    ensure_builtins(name)
    if name not in _MODELS:
        ensure_builtins()
    return name in _MODELS


def get_entry(name: str) -> ModelEntry:
    """The entry of the named scorer.

    Raises:
        ValueError: no scorer of that name (the message lists the names).
    """
    if not is_model(name):
        raise unknown_model_error(name)
    try:
        return _MODELS[name]
    except KeyError:
        raise unknown_model_error(name) from None


def unknown_model_error(name: str) -> ValueError:
    """The error for a name that is neither a registered scorer nor a model file; it
    lists the names."""
    ensure_builtins()
    return ValueError(f"unknown model {name!r}; available: {', '.join(sorted(_MODELS))} "
                      "(or give the path of a model file)")


def create_model(name: str, **options: Any) -> QualityModel:
    """Build the named scorer. ``options`` go to its factory (e.g. ``params=`` for NIQE)."""
    return get_entry(name).factory(**options)

