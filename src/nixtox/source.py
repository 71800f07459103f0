"""The project source as Nix sees it: the same exclusions as ``lib.projectSource`` in ``nix/``.

The manifest hash stands in for the store hash of the filtered source in the up-to-date check, so it
must follow exactly the same filter; a unit test compares both on a fixture tree.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["EXCLUDED_NAMES", "METADATA_FILES", "is_excluded", "metadata_hash", "source_hash"]

#: directory or file names never copied into the store (kept in sync with nix/lib/source.nix).
EXCLUDED_NAMES = frozenset(
    {
        ".git", ".hg", ".svn", ".nixtox", ".tox", ".venv", "venv", "__pycache__", ".pytest_cache",
        ".mypy_cache", ".ruff_cache", ".hypothesis", "build", "dist",
    }
)  # fmt: skip
EXCLUDED_SUFFIXES = (".pyc", ".egg-info")
EXCLUDED_PREFIXES = ("result",)
METADATA_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def is_excluded(name: str) -> bool:
    return (
        name in EXCLUDED_NAMES
        or name.endswith(EXCLUDED_SUFFIXES)
        or name.startswith(EXCLUDED_PREFIXES)
    )


def source_hash(root: Path) -> str:
    """sha256 over every included file's relative path, executable bit and content, in sorted order."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_excluded(d))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if is_excluded(name):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(path):
                digest.update(f"L {rel} {os.readlink(path)}\0".encode())
                continue
            executable = os.access(path, os.X_OK)
            digest.update(f"F {rel} {int(executable)}\0".encode())
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def metadata_hash(root: Path) -> str:
    """sha256 of the files that define the project's metadata (what an editable install depends on)."""
    digest = hashlib.sha256()
    for name in METADATA_FILES:
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
