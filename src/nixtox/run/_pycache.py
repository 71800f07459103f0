"""Bytecode for commands.

Where the store is read-only for commands (``nix/checks/readonly.py``), commands read an env's own
bytecode in place: every layer was byte-compiled when it was installed (checked-hash pycs, valid
wherever the files are) and ``pytestBytecode`` holds pytest's rewritten copies of its plugins' modules,
so no command compiles or rewrites a dependency, and a changed env path (an edit) costs no bytecode.
Python writes the project's own bytecode next to its sources, as under tox.

Where the store stays writable (the private namespace was refused), commands run with
``PYTHONPYCACHEPREFIX=.nixtox/pycache``, so nothing is written into an env; Python looks for bytecode
only under the prefix, so before an env's first command nixtox links the env's pycs into it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nixtox.run._tox import check_module

__all__ = ["command_bytecode", "pycache_dir", "seed_pycache"]


def pycache_dir(env_dir: Path) -> Path:
    """``.nixtox/pycache`` for an env dir ``.nixtox/envs/<key>``."""
    return env_dir.parent.parent / "pycache"


def command_bytecode(env_dir: Path, store_path: Path) -> Path | None:
    """The ``PYTHONPYCACHEPREFIX`` for commands of the env at ``store_path`` (seeded), or None where the
    store is read-only for them and they read the env's bytecode in place."""
    if check_module("readonly").read_only_expected():
        return None
    prefix = pycache_dir(env_dir)
    seed_pycache(store_path, prefix)
    return prefix


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
