"""``nixtox gc``: drop GC roots, rendered files and state of envs that are no longer configured."""

from __future__ import annotations

import click

from nixtox.cli._options import DEFAULT_VERBOSITY, Output, Target, project_options
from nixtox.render import write_default_nix
from nixtox.state import State, locked_work_dir

__all__ = ["gc"]


@click.command()
@project_options
@click.option("--all", "drop_all", is_flag=True, help="drop every env's root, configured or not")
def gc(*, target: Target, output: Output, drop_all: bool) -> None:
    """Drop the GC roots of envs no longer configured, so nix-collect-garbage can free them."""
    project = target.load()
    work_dir = project.core.work_dir
    keep = set() if drop_all else {spec.key for spec in project.envs}
    dropped: list[str] = []
    with locked_work_dir(work_dir):
        state = State.read(work_dir)
        roots = {p.name for p in (work_dir / "gcroots").glob("*")} | set(state.envs)
        for key in sorted(roots - keep):
            for path in (work_dir / "gcroots" / key, work_dir / "nix" / f"{key}.nix"):
                if path.is_symlink() or path.exists():
                    path.unlink()
            state.envs.pop(key, None)
            dropped.append(key)
        state.write()
        if (work_dir / "nix").is_dir():
            write_default_nix(work_dir)
    if output.verbosity >= DEFAULT_VERBOSITY:
        for key in dropped:
            click.echo(f"dropped {key}")
    click.echo(f"{len(dropped)} env root(s) dropped; run nix-collect-garbage to free the store paths")
