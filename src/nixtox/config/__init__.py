"""Load a project's configuration: find the file, expand the env matrix, resolve every key.

``load_project`` is the ``load -> expand`` half of the pipeline; ``nixtox.select`` picks envs from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from nixtox.model import Project

from ._expand import ExpandOptions, build_project
from ._override import Override, environ_overrides
from ._sources import RawConfig, discover

__all__ = [
    "ExpandOptions",
    "Override",
    "RawConfig",
    "environ_overrides",
    "expand_project",
    "load_config",
    "load_project",
]


def load_config(path: Path | None = None, *, config_file: Path | None = None) -> RawConfig:
    """The load stage: find the config file for ``path`` (default: cwd) and read it, unconverted.

    ``config_file`` is the ``-c`` option: a file (used as is) or a directory (searched)."""
    root = (path or Path.cwd()).absolute()
    if config_file is not None and not config_file.is_absolute():
        config_file = (root / config_file) if (root / config_file).exists() else config_file.absolute()
    return discover(root, config_file)


def expand_project(
    raw: RawConfig,
    *,
    posargs: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    given: ExpandOptions | None = None,
) -> Project:
    """The expand stage: every env x package format, in tox's listing order, settings resolved.

    ``posargs`` are the arguments after ``--`` (None: not given, so ``{posargs:default}`` uses its
    default). ``environ`` is what ``{env:X}`` reads (default: the process environment). ``given``: what
    the command line decides (``-x`` overrides, ``--workdir``, ``--develop`` ...)."""
    return build_project(raw, posargs, environ, given)


def load_project(
    path: Path | None = None,
    *,
    config_file: Path | None = None,
    posargs: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    given: ExpandOptions | None = None,
) -> Project:
    """load + expand: every env x package format of the project at ``path`` (default: cwd)."""
    raw = load_config(path, config_file=config_file)
    return expand_project(raw, posargs=posargs, environ=environ, given=given)
