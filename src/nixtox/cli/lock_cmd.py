"""``nixtox lock``: pin every selected env's requirements into ``nixtox.lock`` (the file users commit)."""

from __future__ import annotations

import click

from nixtox.cli._options import Target, echo_warnings, selection_options
from nixtox.errors import InterpreterNotFound
from nixtox.interpreters import env_interpreters
from nixtox.lock import lock_envs, write_lock
from nixtox.model import EnvSpec, Interpreter, Project
from nixtox.select import select_envs

__all__ = ["lock_cmd"]


def _interpreters(project: Project, specs: list[EnvSpec]) -> tuple[
    list[EnvSpec], dict[str, Interpreter], dict[str, Interpreter]
]:  # fmt: skip
    core = project.core
    kept: list[EnvSpec] = []
    interpreters: dict[str, Interpreter] = {}
    build: dict[str, Interpreter] = {}
    memo: dict[str | None, Interpreter] = {}
    for spec in specs:
        try:
            interpreters[spec.key], build_interpreter = env_interpreters(spec, core, memo)
        except InterpreterNotFound as exc:
            if not core.skip_missing_interpreters:
                raise
            click.echo(f"warning: {spec.label}: skipped, {exc.message}", err=True)
            continue
        if build_interpreter is not None:
            build[spec.key] = build_interpreter
        kept.append(spec)
    return kept, interpreters, build


@click.command("lock")
@selection_options
@click.option("--upgrade", is_flag=True, help="resolve again even where the lock is current")
@click.option("--check", is_flag=True, help="fail when nixtox.lock is stale; write nothing")
@click.option(
    "-i", "--index-url", metavar="URL", help="package index (default: PyPI, or UV_INDEX_URL/PIP_INDEX_URL)"
)
def lock_cmd(
    *,
    target: Target,
    upgrade: bool,
    check: bool,
    index_url: str | None,
) -> None:
    """Pin every env's requirements (for its interpreter) to exact files in nixtox.lock."""
    project = target.load()
    echo_warnings(project)
    chosen = select_envs(project, target.selection) if target.chosen else list(project.envs)
    specs, interpreters, build = _interpreters(project, chosen)
    if check:
        lock_envs(project, specs, interpreters, build_interpreters=build, index_url=index_url, locked=True)
        click.echo(f"nixtox.lock is current for {len(specs)} env(s)")
        return
    path = write_lock(
        project, specs, interpreters, build_interpreters=build, index_url=index_url, upgrade=upgrade
    )
    click.echo(f"wrote {path} ({len(specs)} env(s))")
