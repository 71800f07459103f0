"""``nixtox lock``: pin every selected env's requirements into ``nixtox.lock`` (the file users commit);
``--export-pylock`` also writes each env's pins as a PEP 751 ``pylock.<env>.toml``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from nixtox.cli._options import Output, Target, selection_options
from nixtox.lock import LOCK_FILE_NAME, LockPolicy, export_pylocks
from nixtox.model import Status
from nixtox.select import Selection
from nixtox.session import NotifyOnly, lock_envs

__all__ = ["lock_cmd"]


@click.command("lock")
@selection_options
@click.option("--upgrade", is_flag=True, help="resolve again even where the lock is current")
@click.option("--check", is_flag=True, help="fail when nixtox.lock is stale; write nothing")
@click.option(
    "-i", "--index-url", metavar="URL", help="package index (default: PyPI, or UV_INDEX_URL/PIP_INDEX_URL)"
)
@click.option(
    "--export-pylock",
    is_flag=True,
    help="also write each env's pins as a PEP 751 pylock.<env>.toml (pip, uv and tox install from it)",
)
@click.option(
    "-o",
    "--output",
    "pylock_output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="with --export-pylock and one env: the file to write instead of pylock.<env>.toml",
)
@click.pass_context
def lock_cmd(
    ctx: click.Context,
    /,
    *,
    target: Target,
    output: Output,
    upgrade: bool,
    check: bool,
    index_url: str | None,
    export_pylock: bool,
    pylock_output: Path | None,
) -> None:
    """Pin every env's requirements (for its interpreter) to exact files in nixtox.lock."""
    if pylock_output is not None and not export_pylock:
        raise click.UsageError("--output is the file of --export-pylock; add --export-pylock")
    if not target.chosen:
        target = replace(target, selection=Selection(env="ALL"))
    options = target.run_options(
        lock=LockPolicy(locked=check, upgrade=upgrade, prune=not check, index_url=index_url)
    )
    envs = lock_envs(options, events=NotifyOnly(output.notice))
    for result in envs.ended.values():
        if result.status == Status.SKIP:
            click.echo(f"warning: {result.spec.label}: skipped, {result.reason}", err=True)
        else:
            click.secho(f"error: {result.spec.label}: {result.reason}", fg="red", err=True)
    if any(r.status == Status.ERROR for r in envs.ended.values()):
        ctx.exit(1)
    path = envs.project.core.root / LOCK_FILE_NAME
    if check:
        click.echo(f"{LOCK_FILE_NAME} is current for {len(envs.live)} env(s)")
    else:
        click.echo(f"wrote {path} ({len(envs.live)} env(s))")
    if export_pylock:
        for written, locked in zip(
            export_pylocks(envs.live, envs.project.core.root, pylock_output), envs.live, strict=True
        ):
            click.echo(f"wrote {written} ({len(locked.dists)} package(s) for {locked.spec.label})")
