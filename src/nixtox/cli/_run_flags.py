"""tox's flags that change how the envs of a run are made (tox's ``env_run_create_flags``), shared by
``run``, ``run-parallel``, ``exec``, ``devenv`` and (in part) ``config``. They reach a command as one
``flags: RunFlags`` argument, which changes the ``Target`` (what expand decides) and gives the run
options."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast
from urllib.parse import unquote, urlparse

import click

from nixtox.cli._options import Target

__all__ = ["HASH_SEED_MAX", "RunFlags", "hash_seed", "run_flags"]

F = TypeVar("F", bound=Callable[..., Any])
Mode = Literal["run", "exec", "config"]

#: the largest PYTHONHASHSEED Python accepts (a larger one stops it at start: config_init_hash_seed)
HASH_SEED_MAX: Final = 4294967295


def hash_seed(value: str) -> str:
    """tox's ``--hashseed``: an integer in [1, 4294967295], or ``notset`` (PYTHONHASHSEED left unset).
    Raises ValueError for anything else (tox checks the lower bound; Python itself refuses a seed
    above the upper one at start, config_init_hash_seed)."""
    text = value.strip()
    if text == "notset":
        return text
    try:
        seed = int(text)
    except ValueError:
        seed = 0
    if not 1 <= seed <= HASH_SEED_MAX:
        msg = f"{value!r} is not an integer in [1, {HASH_SEED_MAX}] nor notset"
        raise ValueError(msg)
    return str(seed)


def _hash_seed(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    try:
        return None if value is None else hash_seed(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--hashseed") from None


def _install_pkg(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Path | None:
    """tox's checks: a path or ``file:`` URL of an existing file, made absolute."""
    if value is None:
        return None
    if not value:
        raise click.BadParameter("cannot be empty", param_hint="--installpkg")
    path = (Path(unquote(urlparse(value).path)) if value.startswith("file:") else Path(value)).absolute()
    if not path.exists():
        raise click.BadParameter(f"{path} does not exist", param_hint="--installpkg")
    if not path.is_file():
        raise click.BadParameter(f"{path} is not a file", param_hint="--installpkg")
    if not path.name.endswith((".whl", ".tar.gz", ".zip")):
        raise click.BadParameter(f"{path.name} is neither a wheel nor an sdist", param_hint="--installpkg")
    return path


_FLAGS: Final[dict[str, Callable[[Any], Any]]] = {
    "skip_missing_interpreters": click.option(
        "-s", "--skip-missing-interpreters", "skip_missing_interpreters",
        type=click.Choice(["config", "true", "false"]), default="config", show_default=True,
        help="skip envs whose interpreter is missing (-s alone: true); config: as skip_missing_interpreters",
    ),
    "no_test": click.option(
        "-n", "--notest", "no_test", is_flag=True, help="build the envs and their env dirs, run no command"
    ),
    "install_pkg": click.option(
        "--installpkg", "install_pkg", metavar="PATH", callback=_install_pkg,
        help="install this wheel or sdist in every env that installs the package, instead of building it",
    ),
    "develop": click.option(
        "--develop", is_flag=True, help="install the package editable in every env (as use_develop = true)"
    ),
    "skip_pkg_install": click.option(
        "--skip-pkg-install", is_flag=True, help="install no env's package this run (deps only)"
    ),
    "skip_env_install": click.option(
        "--skip-env-install", is_flag=True,
        help="run each env on its last build as it is (no relock, no rebuild); an env never built is built",
    ),
    "hash_seed": click.option(
        "--hashseed", "hash_seed", metavar="SEED", callback=_hash_seed,
        help="PYTHONHASHSEED for commands: 1 to 4294967295, or notset; default: $PYTHONHASHSEED, else random",
    ),
}  # fmt: skip

_MODES: Final[dict[Mode, tuple[str, ...]]] = {
    "run": tuple(_FLAGS),
    "exec": (
        "skip_missing_interpreters",
        "no_test",
        "install_pkg",
        "develop",
        "skip_pkg_install",
        "skip_env_install",
        "hash_seed",
    ),
    "config": ("skip_missing_interpreters", "develop"),
}


@dataclass(frozen=True)
class RunFlags:
    skip_missing_interpreters: str = "config"
    no_test: bool = False
    install_pkg: Path | None = None
    develop: bool = False
    skip_pkg_install: bool = False
    skip_env_install: bool = False
    hash_seed: str | None = None

    def target(self, target: Target) -> Target:
        """``target`` with what these flags decide about the project (the expand stage's options)."""
        skip = self.skip_missing_interpreters
        return target.with_expand(
            skip_missing_interpreters=None if skip == "config" else skip == "true",
            develop=self.develop,
            install_pkg=self.install_pkg,
            skip_pkg_install=self.skip_pkg_install,
        )

    def run_values(self) -> dict[str, Any]:
        """The RunOptions fields these flags set."""
        return {"no_test": self.no_test, "skip_env_install": self.skip_env_install, "hash_seed": self.seed()}

    def seed(self) -> str | None:
        """tox's default: ``$PYTHONHASHSEED`` when it holds a number, else None (a random one per run)."""
        if self.hash_seed is not None:
            return self.hash_seed
        given = os.environ.get("PYTHONHASHSEED", "")
        try:
            return hash_seed(given) if given not in ("", "random") else None
        except ValueError:
            return None


def run_flags(mode: Mode) -> Callable[[F], F]:
    """Add ``mode``'s flags; the command receives them as ``flags``."""
    names = _MODES[mode]

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def packed(*args: Any, **kwargs: Any) -> Any:
            return func(*args, flags=RunFlags(**{name: kwargs.pop(name) for name in names}), **kwargs)

        wrapped: Any = packed
        for name in reversed(names):
            wrapped = _FLAGS[name](wrapped)
        return cast("F", wrapped)

    return decorate
