"""A tiny library: compare versions the way packaging does."""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version

__all__ = ["newest", "version_of"]


def newest(*versions: str) -> str:
    """The newest of the given version strings, by PEP 440 rules."""
    return str(max(Version(v) for v in versions))


def version_of(distribution: str) -> str:
    return version(distribution)
