"""``nixtox run``: build the selected envs with Nix and run their commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from nixtox.cli._display import Display
from nixtox.cli._options import Output, Target, selection_options
from nixtox.cli._run_flags import RunFlags, run_flags
from nixtox.lock import LockPolicy
from nixtox.report import failed_log, summary_lines
from nixtox.session import ReportFiles, run_session

__all__ = ["run", "run_parallel"]


def _parallel(value: str) -> int | str:
    if value in ("auto", "all"):
        return value
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter("use auto, all, 0 or a number of envs", param_hint="-p/--parallel") from None
    if number < 0:
        raise click.BadParameter("use auto, all, 0 or a number of envs", param_hint="-p/--parallel")
    return number


def _options(func: Callable[..., None]) -> Callable[..., None]:
    func = click.argument("posargs", nargs=-1, type=click.UNPROCESSED)(func)
    for option in reversed(_OPTIONS):
        func = option(func)
    return selection_options(run_flags("run")(func))


_OPTIONS = [
    click.option("-r", "--recreate", is_flag=True, help="rebuild the envs even when up to date"),
    click.option(
        "--locked", is_flag=True, help="fail when nixtox.lock is missing or stale instead of relocking"
    ),
    click.option(
        "--result-json",
        "result_json_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="write results as JSON (tox's schema plus store paths)",
    ),
    click.option(
        "--junit",
        "junit_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="write JUnit XML: one testsuite per env (merging the test runner's own JUnit files)",
    ),
    click.option(
        "--html",
        "html_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="write the results as a self-contained HTML matrix page",
    ),
    click.option(
        "-o",
        "--live",
        "--parallel-live",
        "live",
        is_flag=True,
        help="with -p: stream output, each line prefixed by its env",
    ),
    click.option(
        "--parallel-no-spinner",
        "no_spinner",
        is_flag=True,
        help="with -p: no spinner line, even on a terminal",
    ),
    click.option("--fail-fast", is_flag=True, help="start no further env after one failed"),
    click.option("--push", is_flag=True, help="after building, push the envs (signed) to the cache push_to"),
]


def _command(name: str, default_parallel: str, doc: str) -> click.Command:
    @click.command(name=name, help=doc)
    @_options
    @click.option(
        "-p", "--parallel", default=default_parallel, show_default=True,
        help="envs at once: 0 (one at a time), N, auto (one per core) or all",
    )  # fmt: skip
    @click.pass_context
    def command(ctx: click.Context, /, **kwargs: Any) -> None:
        _run(ctx, **kwargs)

    return command


run = _command(
    "run", "0",
    "Build the selected envs (one Nix build) and run their commands. Arguments after -- are posargs.",
)  # fmt: skip
run_parallel = _command(
    "run-parallel", "auto",
    "As run, with envs in parallel (one per core by default), as tox p.",
)  # fmt: skip


def _run(
    ctx: click.Context,
    *,
    target: Target,
    output: Output,
    flags: RunFlags,
    recreate: bool,
    locked: bool,
    result_json_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
    parallel: str,
    live: bool,
    no_spinner: bool,
    fail_fast: bool,
    push: bool,
    posargs: tuple[str, ...],
) -> None:
    if recreate and flags.skip_env_install:
        raise click.UsageError("-r rebuilds the envs, --skip-env-install reuses them: give one")
    target = flags.target(target)
    options = target.run_options(
        **flags.run_values(), posargs=posargs if posargs else None, recreate=recreate,
        lock=LockPolicy(locked=locked, write=not target.expand.changes_requirements),
        parallel=_parallel(parallel), fail_fast=fail_fast, push=push,
        report=ReportFiles(result_json=result_json_path, junit=junit_path, html=html_path),
    )  # fmt: skip
    verbosity = output.verbosity
    colour = output.colour(sys.stdout)
    display = Display(
        parallel=options.parallel != 0, live=live, colour=colour, verbosity=verbosity, spinner=not no_spinner
    )
    try:
        session = run_session(options, events=display)
    finally:
        display.close()
    if verbosity >= 1:
        for text, tint in summary_lines(session.results, session.seconds, log_of=failed_log):
            click.echo(display.paint(text, tint), color=colour)
    if session.interrupted:
        click.echo("interrupted: envs that were not finished are rebuilt or rerun next time", err=True)
    ctx.exit(session.exit_code)
