"""The project source as Nix sees it: the same exclusions as ``lib.projectSource`` in ``nix/``.

The manifest hash stands in for the store hash of the filtered source in the up-to-date check, so it
must follow exactly the same filter; a unit test compares both on a fixture tree.

The list of files is always computed here and handed to ``projectSource``, so Nix copies exactly these:

* in a git checkout, the files git lists (tracked, plus untracked ones that are not ignored): a coverage
  file or test report that ``.gitignore`` names never changes a store hash;
* elsewhere, every file the project's ``.gitignore`` files do not ignore (``nixtox._gitignore``);
* never a file that looks like a secret (``looks_secret``: ``.env*``, keys, credentials), which would be
  world-readable in the store, unless the user said it belongs there: git tracks it, or a ``!`` line
  of a ``.gitignore`` re-includes it. Such a file is included with a warning.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nixtox import _profile
from nixtox._gitignore import IgnoreRules

__all__ = [
    "EXCLUDED_NAMES",
    "METADATA_FILES",
    "SourceTree",
    "included_files",
    "is_excluded",
    "looks_secret",
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


#: names of files (and directories) that hold secrets, at any depth (kept in sync with nix/lib/source.nix)
SECRET_NAMES = frozenset(
    {
        ".netrc", "_netrc", ".pypirc", ".npmrc", ".git-credentials", ".pgpass", ".htpasswd", ".ssh",
        ".gnupg", ".aws", ".docker",
    }
)  # fmt: skip
SECRET_PREFIXES = (".env", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk", ".kdbx")


def looks_secret(name: str) -> bool:
    """Whether a file or directory name is one a user would never want world-readable in the store."""
    return name in SECRET_NAMES or name.startswith(SECRET_PREFIXES) or name.endswith(SECRET_SUFFIXES)


def _git_files(root: Path) -> list[tuple[str, bool]] | None:
    """(file, tracked) for what git lists under ``root`` (tracked + untracked-not-ignored), or None
    outside a checkout."""
    if shutil.which("git") is None:
        return None
    with _profile.phase("call:git ls-files"):
        proc = subprocess.run(
            ["git", "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        return None
    # "-t": a status letter and a space before each name; "?" = untracked
    entries = [e for e in os.fsdecode(proc.stdout).split("\0") if e]
    return list({e[2:]: e[0] != "?" for e in entries}.items())


def _kept_by_filter(rel: str, root: Path) -> bool:
    parts = rel.split("/")
    for depth, name in enumerate(parts):
        symlink = depth == len(parts) - 1 and os.path.islink(os.path.join(root, rel))
        if is_excluded(name, top=depth == 0, symlink=symlink):
            return False
    return True


def _secret_part(rel: str) -> bool:
    return any(looks_secret(part) for part in rel.split("/"))


def included_files(root: Path, *, use_git: bool = True) -> list[str]:
    """Relative paths of the files (and symlinks) ``projectSource`` copies, sorted."""
    listed = _git_files(root) if use_git else None
    return _walk(root) if listed is None else _filter_listed(listed, root)


def _filter_listed(listed: list[tuple[str, bool]], root: Path) -> list[str]:
    """Git's list minus the filter's exclusions and untracked secrets (unless a ``!`` line keeps one)."""
    rules = IgnoreRules(root)
    kept = []
    for rel, tracked in listed:
        if not os.path.lexists(os.path.join(root, rel)) or not _kept_by_filter(rel, root):
            continue
        if not tracked and _secret_part(rel) and not _re_included(rules, rel):
            continue
        kept.append(rel)
    return sorted(kept)


def _re_included(rules: IgnoreRules, rel: str) -> bool:
    """Whether a ``.gitignore`` line re-includes ``rel`` and every secret-looking directory above it."""
    parts = rel.split("/")
    return all(
        rules.decide("/".join(parts[: depth + 1]), is_dir=depth < len(parts) - 1) is False
        for depth, part in enumerate(parts)
        if looks_secret(part)
    )


def _ignored(rules: IgnoreRules, rel: str, name: str, *, is_dir: bool) -> bool:
    """A ``.gitignore`` line decides; where none matches, a secret-looking name is left out."""
    decided = rules.decide(rel, is_dir=is_dir)
    return looks_secret(name) if decided is None else decided


def _walk(root: Path) -> list[str]:
    """Every file below ``root`` that neither the filter nor a ``.gitignore`` excludes (no git)."""
    rules = IgnoreRules(root)
    found: list[str] = []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(root / rel_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_excluded(entry.name, top=not rel_dir, symlink=entry.is_symlink()):
                    continue
                if _ignored(rules, rel, entry.name, is_dir=is_dir):
                    continue
                (pending if is_dir else found).append(rel)
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
    #: exactly the files that enter the store (None only for a tree built by hand: every file the
    #: filter keeps)
    files: tuple[str, ...] | None
    source_hash: str
    metadata_hash: str
    #: included files that look like secrets (tracked by git, or re-included by a ``!`` line)
    secrets: tuple[str, ...] = ()

    @property
    def dirs(self) -> tuple[str, ...]:
        """Every parent directory of ``files``, for projectSource's ``dirs``."""
        found: set[str] = set()
        for rel in self.files or ():
            parts = rel.split("/")[:-1]
            found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return tuple(sorted(found))


def scan_source(root: Path, *, warn: Callable[[str], None] | None = None) -> SourceTree:
    """The files of the project that enter the store; ``warn`` hears of each secret-looking one."""
    listed = _git_files(root)
    files = _walk(root) if listed is None else _filter_listed(listed, root)
    secrets = tuple(f for f in files if _secret_part(f))
    if warn is not None:
        for rel in secrets:
            why = "git tracks it" if listed is not None else "a .gitignore line re-includes it"
            warn(
                f"warning: {rel} looks like a secret and will be world-readable in the Nix store ({why});"
                " remove it from the project, or from git, if the tests do not need it\n"
            )
    return SourceTree(
        root=root,
        files=tuple(files),
        source_hash=source_hash(root, files),
        metadata_hash=metadata_hash(root),
        secrets=secrets,
    )
