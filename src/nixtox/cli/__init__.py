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
# (aliases keep the submodule attributes, e.g. ``nixtox.cli.shell_cmd``, pointing at the modules)
from nixtox.cli.cache_cmd import cache as _cache  # noqa: E402
from nixtox.cli.config_cmd import config_cmd as _config  # noqa: E402
from nixtox.cli.export_cmd import export_cmd as _export  # noqa: E402
from nixtox.cli.gc_cmd import gc as _gc  # noqa: E402
from nixtox.cli.list_cmd import list_cmd as _list  # noqa: E402
from nixtox.cli.lock_cmd import lock_cmd as _lock  # noqa: E402
from nixtox.cli.report_cmd import report_cmd as _report  # noqa: E402
from nixtox.cli.run_cmd import run as _run  # noqa: E402
from nixtox.cli.run_cmd import run_parallel as _run_parallel  # noqa: E402
from nixtox.cli.shell_cmd import shell_cmd as _shell  # noqa: E402

for _command in (_run, _run_parallel, _list, _config, _lock, _shell, _export, _cache, _report, _gc):
    cli.add_command(_command)
cli.add_command(_run, name="r")
cli.add_command(_run_parallel, name="p")
cli.add_command(_list, name="l")

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
