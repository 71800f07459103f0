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
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="nixtox", standalone_mode=False)
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


def _register() -> None:
    from nixtox.cli.gc_cmd import gc
    from nixtox.cli.report_cmd import report_cmd
    from nixtox.cli.run_cmd import run, run_parallel

    cli.add_command(run)
    cli.add_command(run, name="r")
    cli.add_command(run_parallel)
    cli.add_command(run_parallel, name="p")
    cli.add_command(gc)
    from nixtox.cli.cache_cmd import cache

    cli.add_command(cache)
    from nixtox.cli.export_cmd import export_cmd
    from nixtox.cli.shell_cmd import shell_cmd

    cli.add_command(export_cmd)
    cli.add_command(shell_cmd)
    cli.add_command(report_cmd)


_register()

from nixtox.cli.config_cmd import config_cmd  # noqa: E402 - commands register after the group exists
from nixtox.cli.list_cmd import list_cmd  # noqa: E402

cli.add_command(list_cmd)
cli.add_command(config_cmd)
from nixtox.cli.lock_cmd import lock_cmd  # noqa: E402

cli.add_command(lock_cmd)
