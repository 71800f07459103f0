"""Temporary GC roots: hold store paths alive while one operation (a build, a push) needs them.

A garbage collection may run at any moment (another user's ``nix-collect-garbage``, a CI cleanup). A
path nixtox has just instantiated or built is safe only once a root points at it, so every Nix call that
creates paths nixtox goes on using adds its roots itself (``--add-root DIR/NAME --indirect``) into a
directory from here; the directory is removed when the operation ends, after the lasting roots
(``.nixtox/gcroots/<env>``) are in place. Directories left by a killed nixtox are swept by the next one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["temporary_roots"]

_PREFIX = "nixtox-roots-"


def _base() -> Path:
    return Path(tempfile.gettempdir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(base: Path) -> None:
    """Drop the root directories of nixtox processes that no longer exist (killed before cleaning up)."""
    for stale in base.glob(f"{_PREFIX}*"):
        pid = stale.name.removeprefix(_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def temporary_roots(base: Path | None = None) -> Iterator[Path]:
    """A fresh directory to add indirect GC roots to; it and its roots are gone when the block ends."""
    base = base or _base()
    _sweep(base)
    directory = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=base))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
