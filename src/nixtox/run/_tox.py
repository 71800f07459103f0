"""The shared tox command semantics (``nix/checks/tox_commands.py``), loaded from the Nix library.

The same file is the builder of commands run inside a derivation, so it lives in the Nix library (which
must stay self-contained for exported files); host runs load it from there, typed here.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

from nixtox.render import nix_library_path

__all__ = [
    "NOT_RUNNABLE",
    "PHASES",
    "SETUP_PHASES",
    "Ran",
    "command_ok",
    "resolve_program",
    "run_all",
    "run_phases",
    "spawn",
]


def _load() -> ModuleType:
    name = "nixtox._tox_commands"
    if name in sys.modules:
        return sys.modules[name]
    path = nix_library_path() / "checks" / "tox_commands.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_module = _load()


class _Outcome(Protocol):
    @property
    def ok(self) -> bool: ...


class Ran(Protocol):
    """``tox_commands.Ran``: the outcomes, the one that fails the env, and the env's exit code."""

    outcomes: list[Any]
    failed: Any
    failed_phase: str | None

    @property
    def exit_code(self) -> int: ...


PHASES: tuple[str, ...] = _module.PHASES
SETUP_PHASES: tuple[str, ...] = _module.SETUP_PHASES
NOT_RUNNABLE: int = _module.NOT_RUNNABLE


def command_ok(exit_code: int, *, ignore_exit_code: bool = False, invert_exit_code: bool = False) -> bool:
    return cast(
        "bool",
        _module.command_ok(exit_code, ignore_exit_code=ignore_exit_code, invert_exit_code=invert_exit_code),
    )


def resolve_program(
    program: str, *, env_bin: Path, path: str, allowlist: Sequence[str]
) -> tuple[str | None, str]:
    return cast(
        "tuple[str | None, str]",
        _module.resolve_program(program, env_bin=env_bin, path=path, allowlist=allowlist),
    )


def run_all(
    phases: Sequence[tuple[str, Sequence[Any]]],
    run_one: Callable[[Any, str], _Outcome],
    *,
    ignore_errors: bool = False,
    retries: int = 0,
    stopped: Callable[[], bool] = lambda: False,
) -> Ran:
    return cast(
        "Ran",
        _module.run_all(phases, run_one, ignore_errors=ignore_errors, retries=retries, stopped=stopped),
    )


def run_phases(
    phases: Sequence[tuple[str, Sequence[Any]]],
    run_one: Callable[[Any, str], _Outcome],
    *,
    ignore_errors: bool = False,
    retries: int = 0,
    stopped: Callable[[], bool] = lambda: False,
) -> list[Any]:
    return run_all(phases, run_one, ignore_errors=ignore_errors, retries=retries, stopped=stopped).outcomes


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    environ: Mapping[str, str],
    sink: Callable[[str], None],
    started: Callable[[Any], None] | None = None,
    preexec: Callable[[], None] | None = None,
) -> tuple[int, str, float]:
    return cast(
        "tuple[int, str, float]",
        _module.spawn(list(argv), cwd=cwd, environ=environ, sink=sink, started=started, preexec=preexec),
    )
