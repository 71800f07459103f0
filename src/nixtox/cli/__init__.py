"""The ``nixtox`` command line: one module per command, this module only assembles them."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from nixtox import __version__

__all__ = ["INTERRUPTED", "cli", "main"]

#: tox's exit code for an interrupted run (-2, i.e. 254 as a process status)
INTERRUPTED = -2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nixtox")
def cli() -> None:
    """tox-compatible test environments, built by Nix."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: returns the exit code instead of raising SystemExit."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None, prog_name="nixtox", standalone_mode=False
        )
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


# Commands live in one module each; they import this module's ``cli``/``INTERRUPTED``, so they are
# imported (and registered) after both exist.
from nixtox.cli.cache_cmd import cache  # noqa: E402
from nixtox.cli.config_cmd import config_cmd  # noqa: E402
from nixtox.cli.export_cmd import export_cmd  # noqa: E402
from nixtox.cli.gc_cmd import gc  # noqa: E402
from nixtox.cli.list_cmd import list_cmd  # noqa: E402
from nixtox.cli.lock_cmd import lock_cmd  # noqa: E402
from nixtox.cli.report_cmd import report_cmd  # noqa: E402
from nixtox.cli.run_cmd import run, run_parallel  # noqa: E402
from nixtox.cli.shell_cmd import shell_cmd  # noqa: E402

_COMMANDS = (run, run_parallel, list_cmd, config_cmd, lock_cmd, shell_cmd, export_cmd, cache, report_cmd, gc)
for _command in _COMMANDS:
    cli.add_command(_command)
cli.add_command(run, name="r")
cli.add_command(run_parallel, name="p")
cli.add_command(list_cmd, name="l")


def _default_to_run(args: list[str]) -> list[str]:
    """``nixtox`` and ``nixtox -e py312`` run, as ``tox`` and ``tox -e py312`` do."""
    if not args:
        return ["run"]
    if args[0].startswith("-") and args[0] not in ("-h", "--help", "--version"):
        return ["run", *args]
    return args


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
