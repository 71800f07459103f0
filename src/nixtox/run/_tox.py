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
    "check_module",
    "command_ok",
    "junit_values",
    "resolve_program",
    "run_all",
    "run_phases",
    "spawn",
    "start_protected",
]


def check_module(name: str) -> ModuleType:
    """``nix/checks/<name>.py`` of the Nix library, loaded once (as ``nixtox_checks_<name>``, the name its
    siblings load it by)."""
    key = f"nixtox_checks_{name}"
    if key in sys.modules:
        return sys.modules[key]
    path = nix_library_path() / "checks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(key, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


_module = check_module("tox_commands")


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


def junit_values(argv: Sequence[str]) -> list[str]:
    """The JUnit files ``argv`` asks a test runner to write, as written (``nix/checks/tox_commands.py``)."""
    return cast("list[str]", _module.junit_values(list(argv)))


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
    warn: Callable[[str], None] | None = None,
) -> tuple[int, str, float]:
    """``argv`` to its end, the store read-only for it (see ``nix/checks/readonly.py``)."""
    return cast(
        "tuple[int, str, float]",
        _module.spawn(list(argv), cwd=cwd, environ=environ, sink=sink, started=started, warn=warn),
    )


def start_protected(args: Sequence[str], *, warn: Callable[[str], None] | None = None, **popen: Any) -> Any:
    """``subprocess.Popen`` with the Nix store read-only for the child (``nixtox shell``)."""
    return check_module("readonly").start_protected(list(args), warn=warn, **popen)
