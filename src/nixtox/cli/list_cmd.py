"""``nixtox list``: the envs of the project, like ``tox l``, one line per (env, package format)."""

from __future__ import annotations

import json

import click

from nixtox.cli._options import Output, Target, echo_warnings, selection_options
from nixtox.model import EnvSpec
from nixtox.select import select_envs

__all__ = ["list_cmd", "selection_options"]


def env_json(spec: EnvSpec) -> dict[str, object]:
    return {
        "name": spec.name,
        "package_format": spec.package_format,
        "label": spec.label,
        "factors": list(spec.factors),
        "python": spec.python,
        "default": spec.default,
        "description": spec.config.description,
    }


@click.command("list")
@selection_options
@click.option("--json", "as_json", is_flag=True, help="print a JSON array, one object per (env, format)")
@click.option("--no-desc", is_flag=True, help="names only, one per line")
@click.option("-d", "default_only", is_flag=True, help="the default envs only (env_list)")
def list_cmd(
    *,
    target: Target,
    output: Output,
    as_json: bool,
    no_desc: bool,
    default_only: bool,
) -> None:
    """List environments: the default ones (env_list), then the additional ones."""
    project = target.load()
    echo_warnings(project, output)
    chosen = select_envs(project, target.selection) if target.chosen else list(project.envs)
    if default_only:
        chosen = [spec for spec in chosen if spec.default]
    if as_json:
        click.echo(json.dumps([env_json(spec) for spec in chosen], indent=2))
        return
    if no_desc:
        for spec in chosen:
            click.echo(spec.label)
        return
    width = max((len(spec.label) for spec in chosen), default=0)
    groups = (
        ("default environments:", [s for s in chosen if s.default]),
        ("additional environments:", [s for s in chosen if not s.default]),
    )
    first = True
    for title, specs in groups:
        if not specs:
            continue
        if not first:
            click.echo("")
        first = False
        click.echo(title)
        for spec in specs:
            click.echo(f"{spec.label.ljust(width)} -> {spec.config.description or '[no description]'}")
