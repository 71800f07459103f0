"""pluggy hooks: built-in package formats register through the same hooks as third-party plugins."""

from __future__ import annotations

from nixtox.plugins._formats import PackageContext, PackageFormat
from nixtox.plugins._manager import get_plugin_manager, package_formats, reset_plugin_manager
from nixtox.plugins._spec import hookimpl, hookspec

__all__ = [
    "PackageContext",
    "PackageFormat",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "package_formats",
    "reset_plugin_manager",
]
