"""Bytecode for commands.

Commands run with ``PYTHONPYCACHEPREFIX=.nixtox/pycache``, so nothing is ever written into an env. The
prefix is needed even where the store is read-only for commands (``nix/checks/readonly.py``): pytest
keeps its assertion-rewritten copies of plugin modules (every module of hypothesis, pytest-asyncio ...)
where Python keeps bytecode, and without a writable place it rewrites them on every run (0.6 s for
hypothesis, measured with the benchmark's project). Python looks for bytecode only under the prefix, so
before an env's first command nixtox links the env's precompiled pycs into it: no command compiles a
dependency again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["pycache_dir", "seed_pycache"]


def pycache_dir(env_dir: Path) -> Path:
    """``.nixtox/pycache`` for an env dir ``.nixtox/envs/<key>``."""
    return env_dir.parent.parent / "pycache"


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
