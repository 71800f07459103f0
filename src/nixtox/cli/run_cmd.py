"""``nixtox run``: build the selected envs with Nix and run their commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nixtox.cli._options import make_selection, selection_options
from nixtox.report import exit_code, result_json, summary_lines
from nixtox.session import RunOptions, run_session

__all__ = ["run"]


def _sink(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@click.command(context_settings={"ignore_unknown_options": False})
@selection_options
@click.option("-r", "--recreate", is_flag=True, help="rebuild the envs even when up to date")
@click.option("--locked", is_flag=True, help="fail when nixtox.lock is missing or stale instead of relocking")
@click.option("--result-json", "result_json_path", type=click.Path(path_type=Path, dir_okay=False), help="write results as JSON")
@click.option("--hashseed", help="PYTHONHASHSEED for commands (default: random, as tox)")
@click.argument("posargs", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(
    ctx: click.Context,
    config_file: Path | None,
    root: Path | None,
    env: str | None,
    labels: tuple[str, ...],
    factors: tuple[str, ...],
    skip_env: str | None,
    recreate: bool,
    locked: bool,
    result_json_path: Path | None,
    hashseed: str | None,
    posargs: tuple[str, ...],
) -> None:
    """Build the selected envs (one nix-build) and run their commands. Arguments after -- are posargs."""
    options = RunOptions(
        path=root,
        config_file=config_file,
        selection=make_selection(env, labels, factors, skip_env),
        posargs=posargs if posargs else None,
        recreate=recreate,
        locked=locked,
        hash_seed=hashseed,
    )
    session = run_session(options, sink=_sink)
    for result in session.results:
        if result.status in ("error", "skip") and result.reason:
            click.secho(f"{result.spec.label}: {result.reason}", fg="red" if result.status == "error" else "yellow", err=True)
    for text, colour in summary_lines(session.results, session.seconds):
        click.secho(text, fg=colour)
    code = exit_code(session.results)
    if result_json_path is not None:
        data = result_json(session.results, seconds=session.seconds, exit_code=code)
        result_json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    ctx.exit(code)
