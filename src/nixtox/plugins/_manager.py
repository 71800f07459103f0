from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import pluggy

from nixtox.errors import ConfigError
from nixtox.plugins import _spec
from nixtox.plugins._formats import BuiltinFormats, PackageFormat

#: aliases tox users write for the skip format.
_ALIASES = {"deps-only": "skip", "deps_only": "skip", "none": "skip"}


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("nixtox")
    manager.add_hookspecs(_spec)
    manager.register(BuiltinFormats(), name="nixtox.builtin.formats")
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


def package_formats() -> dict[str, PackageFormat]:
    """Every known format by name; a later plugin overrides an earlier one of the same name."""
    formats: dict[str, PackageFormat] = {}
    for provided in reversed(get_plugin_manager().hook.nixtox_package_formats()):
        for fmt in provided:
            formats[fmt.name] = fmt
    return formats


def package_format(name: str, *, env: str) -> PackageFormat:
    formats = package_formats()
    found = formats.get(_ALIASES.get(name, name))
    if found is None:
        known = ", ".join(sorted(formats))
        raise ConfigError(f"env {env}: unknown package format {name!r} (known: {known})")
    return found
