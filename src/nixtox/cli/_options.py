"""The options every command shares, as tox's: they go before or after the subcommand (``nixtox._argv``).

* output (every command): ``-v``/``-q`` (counted, tox's levels), ``--colored``, ``--exit-and-dump-after``;
  they reach a command as ``output: Output``;
* project (every command that reads the config): ``-c``, ``--root``, ``--workdir``, ``-x/--override``
  (and ``NIXTOX_OVERRIDE``/``TOX_OVERRIDE``), plus the env selection (``-e``, ``-m``, ``-f``,
  ``--skip-env``) where a command picks envs; they reach a command as ``target: Target``.
"""

from __future__ import annotations

import faulthandler
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

import click

from nixtox.config import ExpandOptions, Override, environ_overrides, load_project
from nixtox.model import Project
from nixtox.select import Selection

if TYPE_CHECKING:
    from nixtox.session import RunOptions

__all__ = [
    "DEFAULT_VERBOSITY",
    "Output",
    "Target",
    "echo_warnings",
    "make_selection",
    "output_options",
    "project_options",
    "selection_options",
]

F = TypeVar("F", bound=Callable[..., Any])

#: tox's default verbosity (``-v`` adds one, ``-q`` takes one away)
DEFAULT_VERBOSITY = 2


@dataclass(frozen=True)
class Output:
    """How much a command says (``-v``/``-q``) and whether in colour (``--colored``)."""

    verbosity: int = DEFAULT_VERBOSITY
    #: ``--colored yes|no``; None: tox's rule (NO_COLOR, FORCE_COLOR, TERM=dumb, a terminal)
    colored: str | None = None

    def colour(self, stream: TextIO | None = None) -> bool:
        from nixtox.cli._display import colour_enabled  # noqa: PLC0415 - only commands that paint

        return colour_enabled(stream or sys.stdout, self.colored)

    def notice(self, text: str) -> None:
        """A progress notice (``nixtox: built ...``) on stderr; ``-q`` hides notices."""
        if self.verbosity >= DEFAULT_VERBOSITY:
            click.echo(text, nl=not text.endswith("\n"), err=True)

    def warn(self, text: str) -> None:
        """A ``warning:`` line on stderr (tox's WARNING level); ``-q`` hides warnings, as in tox."""
        if self.verbosity >= DEFAULT_VERBOSITY:
            click.secho(f"warning: {text}", fg="yellow", err=True, color=self.colour(sys.stderr))


@dataclass(frozen=True)
class Target:
    """Which project (``--root``, ``-c``, as changed by ``-x``/``--workdir``) and which of its envs."""

    config_file: Path | None = None
    root: Path | None = None
    selection: Selection = field(default_factory=Selection)
    #: what the command line decides about the project
    expand: ExpandOptions = field(default_factory=ExpandOptions)

    def load(self, posargs: tuple[str, ...] | None = None) -> Project:
        return load_project(self.root, config_file=self.config_file, posargs=posargs, given=self.expand)

    def run_options(self, **values: Any) -> RunOptions:
        """RunOptions for this project and selection (``values`` for the other fields)."""
        from nixtox.session import RunOptions  # noqa: PLC0415 - list and config need no session

        return RunOptions(
            path=self.root, config_file=self.config_file, selection=self.selection, expand=self.expand,
            **values,
        )  # fmt: skip

    def with_expand(self, **values: Any) -> Target:
        return replace(self, expand=replace(self.expand, **values))

    @property
    def chosen(self) -> bool:
        """Whether the user picked envs (otherwise a command acts on its default set)."""
        sel = self.selection
        return bool(sel.env or sel.labels or sel.factors or sel.skip_env)


def _overrides(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> tuple[Override, ...]:
    """The environment's overrides first, then the ``-x`` ones (later ones win), as tox reads them."""
    parsed = []
    for text in (*environ_overrides(), *values):
        try:
            parsed.append(Override.parse(text))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-x/--override") from None
    return tuple(parsed)


def _dump_after(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value < 0:
        raise click.BadParameter("use a number of seconds (0: never)", param_hint="--exit-and-dump-after")
    return value


_OUTPUT = [
    click.option(
        "-v", "--verbose", count=True,
        help="show more (repeatable); in run: -v adds the `exit 0` lines of passed commands",
    ),
    click.option(
        "-q", "--quiet", count=True,
        help="show less (repeatable): -q hides notices and warnings (in run: command lines), -qq the summary",
    ),
    click.option(
        "--colored", type=click.Choice(["yes", "no"]),
        help="colour the output; default: yes on a terminal, unless NO_COLOR is set or TERM=dumb",
    ),
    click.option(
        "--exit-and-dump-after", "exit_and_dump_after", type=int, default=0, metavar="SECONDS",
        callback=_dump_after,
        help="after SECONDS, print every thread's stack and exit with 1 (debugging a hang); 0: never",
    ),
]  # fmt: skip

_PROJECT = [
    click.option("-c", "--conf", "config_file", type=click.Path(path_type=Path), help="config file to use"),
    click.option("--root", "root", type=click.Path(path_type=Path, file_okay=False), help="project root"),
    click.option(
        "--workdir", "work_dir", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
        help="nixtox's work directory (state, Nix files, env dirs) instead of .nixtox at the root",
    ),
    click.option(
        "-x", "--override", "overrides", multiple=True, metavar="KEY=VALUE", callback=_overrides,
        help="config override: [SECTION.]KEY=VALUE replaces, KEY+=VALUE appends (testenv:py312.deps+=x); "
        "env NIXTOX_OVERRIDE / TOX_OVERRIDE (;-separated)",
    ),
]  # fmt: skip

_SELECTION = [
    click.option(
        "-e", "--env", "env", metavar="ENVS",
        help="comma list of envs (braces allowed) or ALL; default: env_list; env TOX_ENV / NIXTOX_ENV",
    ),
    click.option(
        "-m", "--label", "labels", multiple=True, metavar="LABEL...", help="envs with any of these labels"
    ),
    click.option(
        "-f", "--factor", "factors", multiple=True, metavar="FACTOR...",
        help="envs with all these factors; repeat -f to OR",
    ),
    click.option("--skip-env", "skip_env", help="regex of env names to skip; env TOX_SKIP_ENV"),
]  # fmt: skip


def _apply(func: Callable[..., Any], decorators: list[Callable[[Any], Any]]) -> Any:
    wrapped: Any = func
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped


@contextmanager
def _dumping_after(seconds: int) -> Iterator[None]:
    """tox's ``--exit-and-dump-after``: faulthandler prints every thread's stack and exits (code 1)."""
    if seconds <= 0:
        yield
        return
    # the process's own stderr: faulthandler writes to a file descriptor, whatever sys.stderr is now
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__ or sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def output_options(func: F) -> F:
    """Add the output options; the command receives them as ``output``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        verbose, quiet = kwargs.pop("verbose"), kwargs.pop("quiet")
        output = Output(max(DEFAULT_VERBOSITY + verbose - quiet, 0), kwargs.pop("colored"))
        with _dumping_after(kwargs.pop("exit_and_dump_after")):
            return func(*args, output=output, **kwargs)

    return cast("F", _apply(packed, _OUTPUT))


def _target(kwargs: dict[str, Any], selection: Selection) -> Target:
    work_dir = kwargs.pop("work_dir")
    expand = ExpandOptions(
        overrides=kwargs.pop("overrides"), work_dir=work_dir.absolute() if work_dir else None
    )
    return Target(kwargs.pop("config_file"), kwargs.pop("root"), selection, expand)


def project_options(func: F) -> F:
    """Add the output and project options (no env selection); the command receives ``target`` and
    ``output``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        return func(*args, target=_target(kwargs, Selection()), **kwargs)

    return output_options(cast("F", _apply(packed, _PROJECT)))


def selection_options(func: F) -> F:
    """Add the output, project and env selection options; the command receives ``target`` and
    ``output``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        picked = [kwargs.pop(name) for name in ("env", "labels", "factors", "skip_env")]
        return func(*args, target=_target(kwargs, make_selection(*picked)), **kwargs)

    return output_options(cast("F", _apply(packed, [*_PROJECT, *_SELECTION])))


def echo_warnings(project: Project, output: Output | None = None) -> None:
    for warning in project.core.warnings:
        (output or Output()).warn(warning)


def make_selection(
    env: str | None, labels: tuple[str, ...], factors: tuple[str, ...], skip_env: str | None = None
) -> Selection:
    env = env or os.environ.get("NIXTOX_ENV") or os.environ.get("TOX_ENV") or None
    skip_env = skip_env or os.environ.get("NIXTOX_SKIP_ENV") or os.environ.get("TOX_SKIP_ENV") or None
    split_labels = tuple(part for value in labels for part in value.replace(",", " ").split())
    split_factors = tuple(tuple(value.replace(",", " ").replace("-", " ").split()) for value in factors)
    return Selection(env=env, labels=split_labels, factors=split_factors, skip_env=skip_env)
