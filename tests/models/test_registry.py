"""The registry registers the built-in scorers on its first lookup (see
:func:`blindiqa.models.registry.ensure_builtins`)."""

from __future__ import annotations

import dataclasses

import pytest

from blindiqa.models import registry
from blindiqa.models.base import ModelInfo
from blindiqa.models.registry import ModelEntry, get_entry


def _entry(name: str, description: str = "") -> ModelEntry:
    return ModelEntry(info=ModelInfo(name=name, feature_dim=1, weights="none",
                                     description=description), factory=lambda: None)


@pytest.fixture()
def fresh(monkeypatch):
    """An empty registry whose built-ins are not registered yet; ``calls`` counts the
    loader's runs. Everything is restored afterwards."""
    calls = []

    def loader(key=None):
        calls.append(1)
        registry.register_model(_entry("builtin", "from the loader"))
        registry.register_bundle_kind("builtin-kind", lambda *a, **k: None)
        return True

    monkeypatch.setattr(registry, "_MODELS", {})
    monkeypatch.setattr(registry, "_BUNDLE_LOADERS", {})
    monkeypatch.setattr(registry, "_builtins_done", False)
    monkeypatch.setattr(registry, "_builtins_loader", loader)
    return calls


@pytest.mark.parametrize("lookup", [
    lambda: registry.list_models(),
    lambda: registry.is_model("builtin"),
    lambda: registry.get_entry("builtin"),
    lambda: registry.bundle_loader("builtin-kind"),
    lambda: registry.unknown_model_error("x"),
])
def test_every_lookup_registers_the_builtins_once(fresh, lookup):
    lookup()
    lookup()
    assert fresh == [1]
    assert registry.is_model("builtin") and "builtin" in str(registry.unknown_model_error("x"))


def test_registering_does_not_load(fresh):
    registry.register_model(_entry("mine"))
    assert fresh == []


def test_earlier_registration_wins_over_a_builtin(fresh):
    """A scorer registered before the built-ins were loaded keeps its name, as though the
    built-ins had been registered first."""
    registry.register_model(_entry("builtin", "mine"))
    assert registry.get_entry("builtin").info.description == "mine"
    registry.list_models()  # the built-ins are loaded now
    assert registry.get_entry("builtin").info.description == "mine"
    assert fresh == [1]


def test_failed_loading_is_retried(fresh, monkeypatch):
    def broken():
        raise ImportError("no torch")

    monkeypatch.setattr(registry, "_builtins_loader", lambda key=None: broken())
    with pytest.raises(ImportError):
        registry.list_models()
    monkeypatch.setattr(registry, "_builtins_loader", lambda key=None: registry.register_model(
        _entry("late")) and True)
    assert [e.name for e in registry.list_models()] == ["late"]


def test_lookup_while_loading_answers_what_is_there(fresh, monkeypatch):
    """A model module that looks something up while the catalogue imports it does not
    start the loading again."""
    seen = []

    def loader(key=None):
        registry.register_model(_entry("first"))
        seen.append([e.name for e in registry.list_models()])
        registry.register_model(_entry("second"))
        return True

    monkeypatch.setattr(registry, "_builtins_loader", loader)
    assert [e.name for e in registry.list_models()] == ["first", "second"]
    assert seen == [["first"]]


def test_the_package_installs_the_catalogue():
    """``import blindiqa`` hands the registry the loader that imports the catalogue."""
    import blindiqa.catalogue

    registry.ensure_builtins()
    names = {e.name for e in registry.list_models()}
    assert {"default", "contentsep", "niqe", "ilniqe"} <= names
    assert blindiqa.catalogue.MODEL_MODULES


def test_a_lookup_by_name_loads_only_that_names_module(fresh, monkeypatch):
    keys = []

    def loader(key=None):
        keys.append(key)
        if key == "builtin":  # its module only
            registry.register_model(_entry("builtin"))
            return False
        registry.register_model(_entry("builtin"))
        registry.register_model(_entry("other"))
        return True

    monkeypatch.setattr(registry, "_builtins_loader", loader)
    assert registry.get_entry("builtin").name == "builtin"
    assert registry.is_model("builtin") and keys == ["builtin"]  # registered: no reload
    assert not registry.is_model("nothing")  # an unknown name: everything is loaded
    assert keys == ["builtin", "nothing"]
    assert [e.name for e in registry.list_models()] == ["builtin", "other"]
    assert keys == ["builtin", "nothing"]  # complete: never loaded again


def test_the_catalogue_table_covers_every_builtin():
    """Every name and bundle kind a full load registers has its module in BUILTINS, and
    importing that module registers it."""
    import importlib

    from blindiqa import catalogue

    catalogue.register_builtins()
    builtin = {e.name for e in registry.list_models()} | set(registry._BUNDLE_LOADERS)
    assert builtin <= set(catalogue.BUILTINS)
    assert set(catalogue.BUILTINS.values()) <= set(catalogue.MODEL_MODULES)
    for key, module in catalogue.BUILTINS.items():
        importlib.import_module(module)
        assert key in registry._MODELS or key in registry._BUNDLE_LOADERS, key


def test_options_are_checked_against_what_a_model_declares():
    from blindiqa.models.registry import bundle_options, refuse_options

    assert get_entry("default").options == ("max_side",) == bundle_options("one-pass")
    assert bundle_options("crops") == ()
    refuse_options({"max_side": 1}, ("max_side",), "x")  # declared: accepted
    with pytest.raises(ValueError, match=r"^option\(s\) a, b do not apply to model 'y'$"):
        refuse_options({"b": 1, "a": 2, "max_side": 3}, ("max_side",), "model 'y'")
    with pytest.raises(ValueError, match="unknown model bundle kind 'no-such-kind'"):
        bundle_options("no-such-kind")


def test_load_refuses_an_option_before_building_anything(monkeypatch):
    import blindiqa

    built = []
    entry = dataclasses.replace(get_entry("contentsep"), factory=lambda **kw: built.append(kw))
    monkeypatch.setitem(registry._MODELS, "contentsep", entry)
    with pytest.raises(ValueError, match=r"option\(s\) max_side do not apply to model "
                                         r"'contentsep'"):
        blindiqa.load("contentsep", max_side=512)
    assert built == []
