"""The project source as Nix sees it: the same exclusions as ``lib.projectSource`` in ``nix/``.

The manifest hash stands in for the store hash of the filtered source in the up-to-date check, so it
must follow exactly the same filter; a unit test compares both on a fixture tree.

In a git checkout only the files git lists (tracked, plus untracked ones that are not ignored) count, and
the list is handed to ``projectSource``: a coverage file or test report that ``.gitignore`` names never
changes a store hash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXCLUDED_NAMES",
    "METADATA_FILES",
    "SourceTree",
    "included_files",
    "is_excluded",
    "metadata_files",
    "metadata_hash",
    "scan_source",
    "source_hash",
]

#: names never copied into the store, at any depth (kept in sync with nix/lib/source.nix).
EXCLUDED_NAMES = frozenset(
    {
        ".git", ".hg", ".svn", ".nixtox", ".tox", ".nox", ".venv", ".direnv", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
    }
)  # fmt: skip
#: names excluded only at the project's top level (a package may hold a ``build`` module); the test
#: runner's own config and lock are not package source, so editing one env's deps rebuilds that env only.
EXCLUDED_TOP_NAMES = frozenset({"venv", "build", "dist", "tox.ini", "tox.toml", "nixtox.toml", "nixtox.lock"})
EXCLUDED_SUFFIXES = (".pyc", ".egg-info")
METADATA_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def is_excluded(name: str, *, top: bool, symlink: bool = False) -> bool:
    return (
        name in EXCLUDED_NAMES
        or name.endswith(EXCLUDED_SUFFIXES)
        or (top and name in EXCLUDED_TOP_NAMES)
        or (top and symlink and name.startswith("result"))
    )


def _git_files(root: Path) -> list[str] | None:
    """Files git lists under ``root`` (tracked + untracked-not-ignored), or None outside a checkout."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return None
    return [f for f in os.fsdecode(proc.stdout).split("\0") if f]


def _kept_by_filter(rel: str, root: Path) -> bool:
    parts = rel.split("/")
    for depth, name in enumerate(parts):
        symlink = depth == len(parts) - 1 and os.path.islink(os.path.join(root, rel))
        if is_excluded(name, top=depth == 0, symlink=symlink):
            return False
    return True


def included_files(root: Path, *, use_git: bool = True) -> list[str]:
    """Relative paths of the files (and symlinks) ``projectSource`` copies, sorted."""
    listed = _git_files(root) if use_git else None
    return _walk(root) if listed is None else _filter_listed(listed, root)


def _filter_listed(listed: list[str], root: Path) -> list[str]:
    return sorted(f for f in listed if os.path.lexists(os.path.join(root, f)) and _kept_by_filter(f, root))


def _walk(root: Path) -> list[str]:
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


def source_hash(root: Path, files: list[str] | None = None) -> str:
    """sha256 over every included file's relative path, executable bit and content."""
    digest = hashlib.sha256()
    for rel in included_files(root) if files is None else files:
        path = os.path.join(root, rel)
        if os.path.islink(path):
            digest.update(f"L {rel} {os.readlink(path)}\0".encode())
            continue
        digest.update(f"F {rel} {int(os.access(path, os.X_OK))}\0".encode())
        with open(path, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def metadata_files(root: Path) -> dict[str, bytes]:
    """The metadata files of the project that exist, by name (``METADATA_FILES`` order)."""
    found: dict[str, bytes] = {}
    for name in METADATA_FILES:
        try:
            found[name] = (root / name).read_bytes()
        except OSError:
            continue
    return found


def metadata_hash(root: Path, files: Mapping[str, bytes] | None = None) -> str:
    """sha256 of the files that define the project's metadata: the one definition of the metadata hash.

    An editable package depends on this, not on the source tree (the Nix library takes it as
    ``metadataHash``), and a dynamic project's lock key includes it.
    """
    digest = hashlib.sha256()
    for name, text in (metadata_files(root) if files is None else files).items():
        digest.update(f"{name}\0{len(text)}\0".encode() + text)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceTree:
    """The project tree as one run sees it (scanned once, shared by every env)."""

    root: Path
    #: None: every file the filter keeps (no git); else exactly these files.
    files: tuple[str, ...] | None
    source_hash: str
    metadata_hash: str

    @property
    def dirs(self) -> tuple[str, ...]:
        """Every parent directory of ``files``, for projectSource's ``dirs``."""
        found: set[str] = set()
        for rel in self.files or ():
            parts = rel.split("/")[:-1]
            found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return tuple(sorted(found))


def scan_source(root: Path) -> SourceTree:
    listed = _git_files(root)
    files = _walk(root) if listed is None else _filter_listed(listed, root)
    return SourceTree(
        root=root,
        files=tuple(files) if listed is not None else None,
        source_hash=source_hash(root, files),
        metadata_hash=metadata_hash(root),
    )
