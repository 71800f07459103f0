"""``nixtox config``: resolved settings of envs, tox style (``[testenv:NAME]`` + ``key = value``) or JSON."""

from __future__ import annotations

import json

import click

from nixtox.cli._options import Output, Target, echo_warnings, selection_options
from nixtox.cli._run_flags import RunFlags, run_flags
from nixtox.config._show import core_settings, env_settings, to_json, to_text
from nixtox.model import EnvSpec
from nixtox.select import select_envs

__all__ = ["config_cmd"]


def _by_name(specs: list[EnvSpec]) -> dict[str, dict[str, object]]:
    """One entry per env name; an env with several formats lists them all in ``package_formats``."""
    out: dict[str, dict[str, object]] = {}
    for spec in specs:
        if spec.name not in out:
            out[spec.name] = env_settings(spec)
    return out


def _pick(settings: dict[str, object], keys: list[str]) -> dict[str, object]:
    if not keys:
        return settings
    return {k: settings[k] for k in keys if k in settings}


def _emit(title: str, settings: dict[str, object]) -> None:
    click.echo(title)
    for key, value in settings.items():
        text = to_text(value)
        if "\n" in text:
            indented = "\n".join(f"  {line}" for line in text.split("\n"))
            click.echo(f"{key} =\n{indented}")
        else:
            click.echo(f"{key} = {text}".rstrip() if text else f"{key} =")


@click.command("config")
@selection_options
@run_flags("config")
@click.option("-k", "--key", "keys", multiple=True, metavar="KEY...", help="only these keys (repeatable)")
@click.option("--core", is_flag=True, help="also show the core section")
@click.option("--json", "as_json", is_flag=True, help="print a JSON object: env name -> settings")
@click.argument("more_keys", nargs=-1, metavar="[KEY]...")
def config_cmd(
    *,
    target: Target,
    output: Output,
    flags: RunFlags,
    keys: tuple[str, ...],
    core: bool,
    as_json: bool,
    more_keys: tuple[str, ...],
) -> None:
    """Show the resolved configuration of environments."""
    project = flags.target(target).load()
    echo_warnings(project, output)
    # like tox's ``-k deps commands``: words after -k are more keys
    wanted = [k for item in (*keys, *more_keys) for k in item.replace(",", " ").split()]
    envs = {name: _pick(s, wanted) for name, s in _by_name(select_envs(project, target.selection)).items()}
    core_values = _pick(core_settings(project.core), wanted) if core else {}
    if as_json:
        payload: dict[str, object] = {name: to_json(s) for name, s in envs.items()}
        if core:
            payload["tox"] = to_json(core_values)
        click.echo(json.dumps(payload, indent=2))
        return
    first = True
    for name, settings in envs.items():
        if not first:
            click.echo("")
        first = False
        _emit(f"[testenv:{name}]", settings)
    if core:
        if not first:
            click.echo("")
        _emit("[tox]", core_values)
