"""The stdlib-only builder scripts of ``nix/builders/``, imported into a test without leaving pycs."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

BUILDERS = Path(__file__).resolve().parents[2] / "nix" / "builders"


@contextlib.contextmanager
def builder_modules(*names: str) -> Iterator[tuple[ModuleType, ...]]:
    """``names`` imported from ``nix/builders`` (no bytecode written next to them), forgotten after."""
    saved_path, saved_flag = list(sys.path), sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(BUILDERS))
    before = set(sys.modules)
    try:
        yield tuple(importlib.import_module(name) for name in names)
    finally:
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_flag
        for name in set(sys.modules) - before:
            if getattr(sys.modules[name], "__file__", "") and str(BUILDERS) in str(
                sys.modules[name].__file__
            ):
                del sys.modules[name]
