"""Where the Nix library and the templates are, their content hashes, and the template environment."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from nixtox.render._nix import nix_path, nix_string

if TYPE_CHECKING:
    import jinja2

__all__ = ["TEMPLATES", "nix_library_hash", "nix_library_path", "template_env", "templates_hash", "tree_hash"]

TEMPLATES = Path(__file__).parent / "templates"


def nix_library_path() -> Path:
    """``nix/`` of a source checkout, or ``nixtox/_nix`` inside an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_nix", here.parent.parent / "nix"):
        if (candidate / "default.nix").is_file():
            return candidate
    raise FileNotFoundError(f"nixtox's Nix library is missing (looked in {here / '_nix'})")


@cache
def tree_hash(root: Path) -> str:
    """Content hash of a directory of Nix files and builders (caches left out)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".pyc"):
                continue
            path = Path(dirpath, name)
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def nix_library_hash() -> str:
    """Content hash of the Nix library: a new nixtox with a changed builder rebuilds every env."""
    return tree_hash(nix_library_path())


@cache
def templates_hash() -> str:
    return tree_hash(TEMPLATES)


@cache
def template_env() -> jinja2.Environment:
    """The template environment, built on first use: a warm run renders nothing and never needs it."""
    import jinja2  # noqa: PLC0415 - deferred: costs more than the rest of a no-op run

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["nix"] = nix_string
    env.filters["nixpath"] = nix_path
    return env
