"""``nixtox devenv [-e ENV] [PATH]``: a development environment at PATH (default ``venv``), as tox's.

tox's ``devenv`` makes a virtualenv with the env's deps and the package installed editable. nixtox builds
the env with the ``editable`` format (an env that installs no package stays without one) and makes PATH
a venv-shaped directory of links into that store path: ``PATH/bin/python`` is the env's interpreter with
the deps and the package importable (the package from the working tree, so edits show at once), which
an IDE or ``source PATH/bin/activate``-less tooling can point at. PATH also holds a GC root, so
``nix-collect-garbage`` keeps the env while PATH exists; running ``devenv`` again updates PATH in place
(new links and root). Remove PATH to drop it.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from nixtox.cli._options import DEFAULT_VERBOSITY, Output, Target, project_options
from nixtox.cli.shell_cmd import FORMAT_OPTION, LOCKED_OPTION, RECREATE_OPTION, choose_env, realise_one
from nixtox.errors import NixtoxError
from nixtox.lock import LockPolicy
from nixtox.nix import NixOptions, RealNix
from nixtox.run import link_env
from nixtox.state import selected_store

__all__ = ["GCROOT", "devenv_cmd"]

#: the GC root inside PATH that keeps its env in the store
GCROOT = ".nixtox-gcroot"


def _check_target(path: Path) -> None:
    """PATH must be new, empty, or a devenv nixtox made: never a user's directory of other things."""
    if not os.path.lexists(path):
        return
    if not path.is_dir() or path.is_symlink():
        msg = f"devenv: {path} exists and is not a directory; remove it or give another PATH"
        raise NixtoxError(msg)
    if any(path.iterdir()) and not os.path.lexists(path / GCROOT):
        msg = f"devenv: {path} is not empty and not a devenv nixtox made; remove it or give another PATH"
        raise NixtoxError(msg)


@click.command("devenv")
@project_options
@click.option("-e", "--env", "env", default="py", show_default=True, metavar="ENV", help="the env to set up")
@FORMAT_OPTION
@RECREATE_OPTION
@LOCKED_OPTION
@click.argument("path", type=click.Path(path_type=Path), default=Path("venv"), required=False)
def devenv_cmd(
    *,
    target: Target,
    output: Output,
    env: str,
    package_format: str | None,
    recreate: bool,
    locked: bool,
    path: Path,
) -> None:
    """Set up a development environment at PATH (default: venv) from ENV, the package installed
    editable: point an IDE at PATH/bin/python."""
    path = path.absolute()
    _check_target(path)
    target = target.with_expand(develop=True, skip_missing_interpreters=False)  # as tox's devenv
    spec = choose_env(target.load(), env, package_format)
    lock = LockPolicy(locked=locked, write=False)
    realised = realise_one(target.run_options(recreate=recreate, lock=lock), spec, output)
    link_env(path, realised.store_path)
    RealNix(NixOptions(store=selected_store())).add_root(realised.store_path, path / GCROOT)
    if output.verbosity >= DEFAULT_VERBOSITY:
        click.echo(f"created development environment under {path} ({spec.label}, {realised.store_path})")
