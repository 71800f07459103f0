"""Load a project's configuration: find the file, expand the env matrix, resolve every key.

``load_project`` is the ``load -> expand`` half of the pipeline; ``nixtox.select`` picks envs from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nixtox.model import CoreConfig, EnvSpec, Project

from ._expand import build_env, build_project
from ._resolve import Resolvers
from ._sources import discover

__all__ = ["expand_adhoc_env", "load_project"]


def load_project(
    path: Path | None = None,
    *,
    config_file: Path | None = None,
    posargs: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """Every env x package format of the project at ``path`` (default: cwd), in tox's listing order.

    ``config_file`` is the ``-c`` option: a file (used as is) or a directory (searched). ``posargs`` are the
    arguments after ``--`` (None: not given, so ``{posargs:default}`` uses its default). ``environ`` is
    what ``{env:X}`` reads (default: the process environment).
    """
    root = (path or Path.cwd()).absolute()
    if config_file is not None and not config_file.is_absolute():
        config_file = (root / config_file) if (root / config_file).exists() else config_file.absolute()
    return build_project(discover(root, config_file), posargs, environ)


def expand_adhoc_env(core: CoreConfig, name: str) -> tuple[EnvSpec, ...]:
    """EnvSpecs for an env name the config does not list (``-e py313-foo``), with inherited settings."""
    config_file = core.config_file if core.config_file.is_file() else None
    raw = discover(core.root, config_file)
    return build_env(Resolvers(raw, core.posargs), core, name, default=False)
