"""``nixtox lock``: pin every selected env's requirements into ``nixtox.lock`` (the file users commit)."""

from __future__ import annotations

import click

from nixtox.cli._options import Target, selection_options
from nixtox.lock import LOCK_FILE_NAME, LockPolicy
from nixtox.model import Status
from nixtox.select import Selection
from nixtox.session import NotifyOnly, RunOptions, lock_envs

__all__ = ["lock_cmd"]


@click.command("lock")
@selection_options
@click.option("--upgrade", is_flag=True, help="resolve again even where the lock is current")
@click.option("--check", is_flag=True, help="fail when nixtox.lock is stale; write nothing")
@click.option(
    "-i", "--index-url", metavar="URL", help="package index (default: PyPI, or UV_INDEX_URL/PIP_INDEX_URL)"
)
@click.pass_context
def lock_cmd(
    ctx: click.Context,
    /,
    *,
    target: Target,
    upgrade: bool,
    check: bool,
    index_url: str | None,
) -> None:
    """Pin every env's requirements (for its interpreter) to exact files in nixtox.lock."""
    options = RunOptions(
        path=target.root,
        config_file=target.config_file,
        selection=target.selection if target.chosen else Selection(env="ALL"),
        lock=LockPolicy(
            locked=check, upgrade=upgrade, prune=not check, index_url=index_url, store_interpreters=False
        ),
    )
    envs = lock_envs(options, events=NotifyOnly(lambda text: click.echo(text, nl=False, err=True)))
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
