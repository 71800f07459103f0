"""pluggy hooks: built-in package formats and env kinds register through the same hooks as plugins."""

from __future__ import annotations

from nixtox.plugins._formats import INSTALLPKG_FORMAT, PackageContext, PackageFormat
from nixtox.plugins._kinds import EnvKind, KindCommand, KindContext
from nixtox.plugins._manager import (
    env_kinds,
    find_format,
    get_plugin_manager,
    package_formats,
    register_plugin,
    reset_plugin_manager,
)
from nixtox.plugins._spec import hookimpl, hookspec

__all__ = [
    "INSTALLPKG_FORMAT",
    "EnvKind",
    "KindCommand",
    "KindContext",
    "PackageContext",
    "PackageFormat",
    "env_kinds",
    "find_format",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "package_formats",
    "register_plugin",
    "reset_plugin_manager",
]
