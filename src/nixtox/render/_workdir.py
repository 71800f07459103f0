"""The files realise writes into the work dir (``.nixtox/``) for Nix to read.

``nix/<key>.nix`` per env, ``default.nix`` joining them, and shared files such as ``source-files.nix``.
Every write is atomic, so a concurrent or interrupted run never leaves half a file for Nix to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from nixtox import __version__
from nixtox._files import write_atomically
from nixtox.render._library import nix_library_path, template_env

__all__ = ["write_default_nix", "write_env_file", "write_work_file"]

#: what an env key may hold (``EnvSpec.key_for``); other files under ``nix/`` are not ours
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def write_work_file(work_dir: Path, name: str, text: str) -> Path:
    path = work_dir / name
    write_atomically(path, text)
    return path


def write_env_file(work_dir: Path, key: str, text: str) -> Path:
    path = work_dir / "nix" / f"{key}.nix"
    write_atomically(path, text)
    return path


def write_default_nix(work_dir: Path, keys: Iterable[str] | None = None) -> Path:
    """(Re)write ``default.nix`` joining the env files of ``keys`` (default: every env file present
    whose name is a valid key); a file of an env the project no longer has, or that Nix cannot read,
    must not break the others."""
    present = {p.stem for p in (work_dir / "nix").glob("*.nix") if _KEY.match(p.stem)}
    chosen = sorted(present if keys is None else present & set(keys))
    text = (
        template_env()
        .get_template("default.nix.j2")
        .render(version=__version__, nix_lib=nix_library_path(), keys=chosen)
    )
    path = work_dir / "default.nix"
    write_atomically(path, text)
    return path
