"""``nixtox exec -e ENV -- CMD ARGS``: one command in an env, as ``tox exec`` runs it.

The env is built first when it is not up to date (its package and deps as ``run`` builds them). The
command then runs as one of the env's ``commands`` would: with tox's environment (pass_env, set_env,
PYTHONHASHSEED, the env first on PATH), in ``change_dir``, and only if it is in the env or allowed by
``allowlist_externals``; commands_pre/commands_post do not run. It is not captured: it has the terminal
(stdin too), and its exit code is nixtox's. ``nixtox shell ENV -- CMD`` is the same with the caller's
whole environment and no allowlist.
"""

from __future__ import annotations

import random
import shlex

import click

from nixtox.cli._options import DEFAULT_VERBOSITY, Output, Target, project_options
from nixtox.cli._run_flags import HASH_SEED_MAX, RunFlags, run_flags
from nixtox.cli.shell_cmd import (
    FORMAT_OPTION,
    LOCKED_OPTION,
    RECREATE_OPTION,
    choose_env,
    realise_one,
    run_in_env,
)
from nixtox.lock import LockPolicy
from nixtox.run import command_bytecode, command_environ, prepare_env_dir
from nixtox.run._tox import resolve_program

__all__ = ["exec_cmd"]

#: tox's exit code when a command is not allowed (``allowlist_externals``) or not found
NOT_RUNNABLE = 1


@click.command("exec", context_settings={"ignore_unknown_options": False})
@project_options
@run_flags("exec")
@click.option("-e", "--env", "env", default="py", show_default=True, metavar="ENV", help="the env to run in")
@FORMAT_OPTION
@RECREATE_OPTION
@LOCKED_OPTION
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def exec_cmd(
    ctx: click.Context,
    *,
    target: Target,
    output: Output,
    flags: RunFlags,
    env: str,
    package_format: str | None,
    recreate: bool,
    locked: bool,
    command: tuple[str, ...],
) -> None:
    """Run one command in ENV as its commands run (tox's environment, change_dir, allowlist_externals):
    nixtox exec -e py312 -- python -c 'import sys; print(sys.version)'."""
    if not command:
        raise click.UsageError("give the command after --: nixtox exec -e ENV -- CMD [ARGS]")
    if recreate and flags.skip_env_install:
        raise click.UsageError("-r rebuilds the env, --skip-env-install reuses it: give one")
    target = flags.target(target)
    spec = choose_env(target.load(), env, package_format)
    lock = LockPolicy(locked=locked, write=not target.expand.changes_requirements)
    options = target.run_options(recreate=recreate, lock=lock, skip_env_install=flags.skip_env_install)
    realised = realise_one(options, spec, output)
    store_path = realised.store_path
    prepare_env_dir(spec.env_dir, store_path)
    spec.config.change_dir.mkdir(parents=True, exist_ok=True)
    if flags.no_test:  # -n: the env is ready, nothing runs
        ctx.exit(0)
    seed = flags.seed()
    hash_seed = None if seed == "notset" else seed or str(random.randint(1, HASH_SEED_MAX))
    bytecode = command_bytecode(spec.env_dir, store_path)
    environ = command_environ(
        spec, store_path=store_path, env_dir=spec.env_dir, hash_seed=hash_seed, bytecode=bytecode
    )
    program, reason = resolve_program(
        command[0],
        env_bin=store_path / "bin",
        path=environ["PATH"],
        allowlist=spec.config.allowlist_externals,
    )
    if program is None:
        click.secho(f"{spec.label}: {reason}", fg="red", err=True, color=output.colour())
        ctx.exit(NOT_RUNNABLE)
    if output.verbosity >= DEFAULT_VERBOSITY:
        click.echo(f"{spec.label}: exec> {shlex.join(command)}", err=True)
    ctx.exit(run_in_env([program, *command[1:]], environ, cwd=spec.config.change_dir))
