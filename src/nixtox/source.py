"""The project source as Nix sees it: the same exclusions as ``lib.projectSource`` in ``nix/``.

The manifest hash stands in for the store hash of the filtered source in the up-to-date check, so it
must follow exactly the same filter; a unit test compares both on a fixture tree.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["EXCLUDED_NAMES", "METADATA_FILES", "included_files", "is_excluded", "metadata_hash", "source_hash"]

#: names never copied into the store, at any depth (kept in sync with nix/lib/source.nix).
EXCLUDED_NAMES = frozenset(
    {
        ".git", ".hg", ".svn", ".nixtox", ".tox", ".nox", ".venv", ".direnv", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
    }
)  # fmt: skip
#: names excluded only at the project's top level (a package may hold a ``build`` module).
EXCLUDED_TOP_NAMES = frozenset({"venv", "build", "dist"})
EXCLUDED_SUFFIXES = (".pyc", ".egg-info")
METADATA_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def is_excluded(name: str, *, top: bool, symlink: bool = False) -> bool:
    return (
        name in EXCLUDED_NAMES
        or name.endswith(EXCLUDED_SUFFIXES)
        or (top and name in EXCLUDED_TOP_NAMES)
        or (top and symlink and name.startswith("result"))
    )


def included_files(root: Path) -> list[str]:
    """Relative paths of the files (and symlinks) ``projectSource`` copies, sorted."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        top = os.path.samefile(dirpath, root)
        dirnames[:] = sorted(
            d for d in dirnames
            if not is_excluded(d, top=top, symlink=os.path.islink(os.path.join(dirpath, d)))
        )  # fmt: skip
        rel_dir = os.path.relpath(dirpath, root)
        for name in filenames:
            if not is_excluded(name, top=top, symlink=os.path.islink(os.path.join(dirpath, name))):
                found.append(os.path.normpath(os.path.join(rel_dir, name)))
    return sorted(found)


def source_hash(root: Path) -> str:
    """sha256 over every included file's relative path, executable bit and content."""
    digest = hashlib.sha256()
    for rel in included_files(root):
        path = os.path.join(root, rel)
        if os.path.islink(path):
            digest.update(f"L {rel} {os.readlink(path)}\0".encode())
            continue
        digest.update(f"F {rel} {int(os.access(path, os.X_OK))}\0".encode())
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
