"""Bytecode for commands.

Where commands run with the store read-only (``nix/checks/readonly.py``: a daemon's store, or a private
mount namespace), they use the env's own precompiled bytecode (checked-hash pycs, valid wherever they
are) directly, and write bytecode only for the project's working tree, as under tox. Only where the store
stays writable for them do they get ``PYTHONPYCACHEPREFIX=.nixtox/pycache``, so nothing is written into
an env; Python then looks for bytecode only under that prefix, so before an env's first command nixtox
links the env's pycs into it: no command compiles a dependency again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from nixtox.run._tox import commands_protected

__all__ = ["bytecode_prefix", "pycache_dir", "seed_pycache"]


def pycache_dir(env_dir: Path) -> Path:
    """``.nixtox/pycache`` for an env dir ``.nixtox/envs/<key>``."""
    return env_dir.parent.parent / "pycache"


def bytecode_prefix(env_dir: Path, *, warn: Callable[[str], None] | None = None) -> Path | None:
    """The ``PYTHONPYCACHEPREFIX`` commands need: None where the store is read-only for them."""
    return None if commands_protected(warn) else pycache_dir(env_dir)


def seed_pycache(store_path: Path, prefix: Path) -> bool:
    """Link ``store_path``'s ``__pycache__/*.pyc`` files to where Python looks for them under ``prefix``.

    ``<dir>/__pycache__/<mod>.<tag>.pyc`` belongs at ``<prefix>/<dir>/<mod>.<tag>.pyc``. Done once per
    env (a marker file records it); returns whether it seeded now.
    """
    marker = prefix / str(store_path).lstrip(os.sep) / ".nixtox-seeded"
    if marker.exists():
        return False
    for dirpath, dirnames, filenames in os.walk(store_path, followlinks=True):
        if os.path.basename(dirpath) != "__pycache__":
            continue
        dirnames.clear()
        target_dir = prefix / os.path.dirname(dirpath).lstrip(os.sep)
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            if not name.endswith(".pyc"):
                continue
            source, target = os.path.join(dirpath, name), target_dir / name
            try:
                os.link(source, target)
            except FileExistsError:
                continue
            except OSError:  # the store is on another file system
                shutil.copyfile(source, target)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return True
