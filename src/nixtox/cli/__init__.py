"""The ``nixtox`` command line: one module per command, this module only assembles them."""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from types import FrameType

import click

from nixtox import __version__, _profile
from nixtox.cli._argv import normalize

__all__ = ["CACHE_COMMANDS", "INTERRUPTED", "STOP_SIGNALS", "cli", "main"]

from nixtox.report import INTERRUPTED

#: command name -> (module, attribute); modules are imported only when their command runs, so
#: ``nixtox run`` does not pay for the cache, export or report machinery (the warm path is imports).
_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run_cmd", "run"),
    "r": ("run_cmd", "run"),
    "run-parallel": ("run_cmd", "run_parallel"),
    "p": ("run_cmd", "run_parallel"),
    "list": ("list_cmd", "list_cmd"),
    "l": ("list_cmd", "list_cmd"),
    "config": ("config_cmd", "config_cmd"),
    "c": ("config_cmd", "config_cmd"),
    "depends": ("depends_cmd", "depends_cmd"),
    "de": ("depends_cmd", "depends_cmd"),
    "exec": ("exec_cmd", "exec_cmd"),
    "e": ("exec_cmd", "exec_cmd"),
    "devenv": ("devenv_cmd", "devenv_cmd"),
    "d": ("devenv_cmd", "devenv_cmd"),
    "lock": ("lock_cmd", "lock_cmd"),
    "shell": ("shell_cmd", "shell_cmd"),
    "export": ("export_cmd", "export_cmd"),
    "cache": ("cache_cmd", "cache"),
    "report": ("report_cmd", "report_cmd"),
    "gc": ("gc_cmd", "gc"),
}


#: ``nixtox cache``'s own subcommands (its options may come before them: ``cache -e py push``)
CACHE_COMMANDS = ("keygen", "push", "pull", "status", "verify")


class _LazyGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """tox's shape: options before or after the subcommand, ``run`` when none is named."""
        if not ctx.resilient_parsing:
            args = normalize(args, _COMMANDS, groups={"cache": CACHE_COMMANDS})
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """One line per command, its aliases beside it (``run (r)``), as tox's help lists them."""
        names: dict[tuple[str, str], list[str]] = {}
        for name, target in _COMMANDS.items():
            names.setdefault(target, []).append(name)
        labelled = []
        for spelled in names.values():
            primary = max(spelled, key=len)
            aliases = sorted(n for n in spelled if n != primary)
            labelled.append((f"{primary} ({', '.join(aliases)})" if aliases else primary, primary))
        limit = formatter.width - 6 - max(len(label) for label, _ in labelled)
        rows = []
        for label, primary in sorted(labelled):
            command = self.get_command(ctx, primary)
            assert command is not None
            rows.append((label, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = _COMMANDS.get(cmd_name)
        if found is None:
            return None
        module = importlib.import_module(f"nixtox.cli.{found[0]}")
        command: click.Command = getattr(module, found[1])
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nixtox")
def cli() -> None:
    """tox-compatible test environments, built by Nix."""


#: signals that stop nixtox as Ctrl-C does: ``timeout``, a CI runner cancelling a job, a closed terminal
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt, so they stop every running command's process group and
    let Nix clean up, as Ctrl-C does, instead of killing nixtox and orphaning its commands (which run in
    sessions of their own). Only the first one interrupts: a second must not cut the teardown short."""
    stopping = False

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in STOP_SIGNALS}
    except ValueError:  # not the main thread (an embedding program): leave its handlers alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code instead of raising SystemExit."""
    _profile.startup()
    start = time.monotonic()
    try:
        with _stop_signals_interrupt():
            return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        _profile.write(time.monotonic() - start)


def _main(args: list[str]) -> int:
    try:
        code = cli.main(args=args, prog_name="nixtox", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        click.echo("interrupted: envs that were not finished are rebuilt or rerun next time", err=True)
        return INTERRUPTED
    # with standalone_mode=False click returns ctx.exit()'s code (or the command's return value)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
