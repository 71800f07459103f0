"""The ``nixtox`` command line: one module per command, this module only assembles them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from nixtox import __version__

__all__ = ["INTERRUPTED", "cli", "main"]

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
    "lock": ("lock_cmd", "lock_cmd"),
    "shell": ("shell_cmd", "shell_cmd"),
    "export": ("export_cmd", "export_cmd"),
    "cache": ("cache_cmd", "cache"),
    "report": ("report_cmd", "report_cmd"),
    "gc": ("gc_cmd", "gc"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code instead of raising SystemExit."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=_default_to_run(args), prog_name="nixtox", standalone_mode=False)
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


def _default_to_run(args: list[str]) -> list[str]:
    """``nixtox`` and ``nixtox -e py312`` run, as ``tox`` and ``tox -e py312`` do."""
    if not args:
        return ["run"]
    if args[0].startswith("-") and args[0] not in ("-h", "--help", "--version"):
        return ["run", *args]
    return args


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
