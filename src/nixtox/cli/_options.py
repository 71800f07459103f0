"""Options shared by the commands that pick envs (-c, --root, -e, -m, -f, --skip-env), with tox's
env-variable equivalents. They reach a command as one ``target: Target`` argument."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from nixtox.config import load_project
from nixtox.model import Project
from nixtox.select import Selection

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Target:
    """Which project (``--root``, ``-c``) and which of its envs (``-e``/``-m``/``-f``/``--skip-env``)."""

    config_file: Path | None
    root: Path | None
    selection: Selection

    def load(self, posargs: tuple[str, ...] | None = None) -> Project:
        return load_project(self.root, config_file=self.config_file, posargs=posargs)

    @property
    def chosen(self) -> bool:
        """Whether the user picked envs (otherwise a command acts on its default set)."""
        sel = self.selection
        return bool(sel.env or sel.labels or sel.factors or sel.skip_env)


_PICKED = ("config_file", "root", "env", "labels", "factors", "skip_env")


def selection_options(func: F) -> F:
    """Add the shared options; the command receives them as ``target``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        picked = {name: kwargs.pop(name) for name in _PICKED}
        selection = make_selection(picked["env"], picked["labels"], picked["factors"], picked["skip_env"])
        return func(*args, target=Target(picked["config_file"], picked["root"], selection), **kwargs)

    decorators = [
        click.option(
            "-c", "--conf", "config_file", type=click.Path(path_type=Path), help="config file to use"
        ),
        click.option("--root", "root", type=click.Path(path_type=Path, file_okay=False), help="project root"),
        click.option(
            "-e",
            "--env",
            "env",
            metavar="ENVS",
            help="comma list of envs (braces allowed) or ALL; default: env_list; env TOX_ENV / NIXTOX_ENV",
        ),
        click.option("-m", "--label", "labels", multiple=True, metavar="LABEL", help="envs with this label"),
        click.option(
            "-f",
            "--factor",
            "factors",
            multiple=True,
            metavar="FACTORS",
            help="envs with all these factors (space/dash separated); repeat to OR",
        ),
        click.option("--skip-env", "skip_env", help="regex of env names to skip; env TOX_SKIP_ENV"),
    ]
    wrapped: Any = packed
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return cast("F", wrapped)


def echo_warnings(project: Project) -> None:
    for warning in project.core.warnings:
        click.echo(f"warning: {warning}", err=True)


def make_selection(
    env: str | None, labels: tuple[str, ...], factors: tuple[str, ...], skip_env: str | None = None
) -> Selection:
    env = env or os.environ.get("NIXTOX_ENV") or os.environ.get("TOX_ENV") or None
    skip_env = skip_env or os.environ.get("NIXTOX_SKIP_ENV") or os.environ.get("TOX_SKIP_ENV") or None
    split_labels = tuple(part for value in labels for part in value.replace(",", " ").split())
    split_factors = tuple(tuple(value.replace(",", " ").replace("-", " ").split()) for value in factors)
    return Selection(env=env, labels=split_labels, factors=split_factors, skip_env=skip_env)
