"""The plugin manager and the registries its hooks fill: package formats and env kinds."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import pluggy

from nixtox.plugins import _spec
from nixtox.plugins._formats import BuiltinFormats, PackageFormat
from nixtox.plugins._kinds import BuiltinKinds, EnvKind

__all__ = [
    "env_kinds",
    "find_format",
    "get_plugin_manager",
    "package_formats",
    "register_plugin",
    "reset_plugin_manager",
]


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("nixtox")
    manager.add_hookspecs(_spec)
    manager.register(BuiltinFormats(), name="nixtox.builtin.formats")
    manager.register(BuiltinKinds(), name="nixtox.builtin.kinds")
    # an in-tree plugin that uses only the public hooks (nixtox.plugins), registered like any plugin
    from nixtox.plugins import oci  # noqa: PLC0415 - plugins import the public API of this package

    manager.register(oci, name="nixtox.oci")
    if _entry_points_declared("nixtox"):
        manager.load_setuptools_entrypoints("nixtox")
    return manager


def _entry_points_declared(group: str) -> bool:
    """Whether any installed distribution declares entry points of ``group``.

    A plain scan of ``entry_points.txt`` files: importing importlib.metadata and parsing every
    distribution costs more than the rest of a no-op run, and most projects have no nixtox plugin.
    """
    needle = f"[{group}]"
    for entry in sys.path:
        base = Path(entry or ".")
        if not base.is_dir():
            continue
        for declared in (
            *base.glob("*.dist-info/entry_points.txt"),
            *base.glob("*.egg-info/entry_points.txt"),
        ):
            try:
                if needle in declared.read_text(encoding="utf-8", errors="replace"):
                    return True
            except OSError:
                continue
    return False


def reset_plugin_manager() -> None:
    get_plugin_manager.cache_clear()
    _formats.cache_clear()
    _kinds.cache_clear()


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin object or module (as an entry point would) and refresh the registries."""
    get_plugin_manager().register(plugin, name=name)
    _formats.cache_clear()
    _kinds.cache_clear()


@cache
def _formats() -> dict[str, PackageFormat]:
    """Every format by name and by alias; a later plugin overrides an earlier one of the same name."""
    by_name: dict[str, PackageFormat] = {}
    for provided in reversed(get_plugin_manager().hook.nixtox_package_formats()):
        for fmt in provided:
            by_name[fmt.name] = fmt
    spelled = {alias: fmt for fmt in by_name.values() for alias in fmt.aliases}
    return {**spelled, **by_name}


def package_formats() -> dict[str, PackageFormat]:
    """Every known format by its name (aliases left out), in registration order."""
    return {name: fmt for name, fmt in _formats().items() if fmt.name == name}


def find_format(name: str) -> PackageFormat | None:
    """The format ``name`` or one of its aliases means, or None."""
    return _formats().get(name)


@cache
def _kinds() -> dict[str, EnvKind]:
    found: dict[str, EnvKind] = {}
    for provided in reversed(get_plugin_manager().hook.nixtox_env_kinds()):
        for kind in provided:
            found[kind.name] = kind
    return found


def env_kinds() -> dict[str, EnvKind]:
    """Every env kind by name (``venv`` is the built-in one every env has)."""
    return dict(_kinds())
