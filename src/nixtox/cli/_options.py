"""Options shared by several commands (-c, -e, -m, -f), with tox's env-variable equivalents."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nixtox.model import Project
from nixtox.select import Selection

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(func: F) -> F:
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
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


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
