"""``nixtox shell ENV [-- CMD ARGS]``: a shell (or one command) inside a realised env.

The env is built first when it is not up to date. The shell sees the caller's whole environment
(unlike ``run``'s pass_env filtering: it is the user's own terminal) plus the env's: its ``bin`` first
on PATH, VIRTUAL_ENV, NIXTOX_ENV_NAME/NIXTOX_ENV_DIR (and tox's names), and ``set_env``. The prompt
gets a ``(nixtox:KEY)`` prefix: bash through an rc file (which sources ~/.bashrc first), other shells
through the PS1 environment variable (sh, dash, ksh read it; zsh and fish users can show
$NIXTOX_ENV_NAME in their own prompt).

An env with several package formats is named by its key (``py312-sdist``) or by ``ENV --format FMT``.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType

import click

from nixtox.cli._options import DEFAULT_VERBOSITY, Output, Target, project_options
from nixtox.errors import EnvSelectionError, NixtoxError
from nixtox.lock import LockPolicy
from nixtox.model import EnvSpec, Project, RealisedEnv
from nixtox.run import command_bytecode, command_environ, prepare_env_dir
from nixtox.run._tox import start_protected
from nixtox.run._tree_files import restore_tree_files
from nixtox.select import Selection, select_envs
from nixtox.session import NotifyOnly, RunOptions, prepare_envs

__all__ = [
    "choose_env",
    "interactive_shell",
    "prompt_marker",
    "realise_one",
    "run_in_env",
    "shell_cmd",
    "shell_environ",
]

#: exit code when the command cannot be started, as a shell gives
NOT_FOUND = 127
DEFAULT_PS1 = "\\$ "


def choose_env(project: Project, name: str, package_format: str | None) -> EnvSpec:
    """The one (env, format) ``name`` (an env name or a key like ``py312-sdist``) and ``--format`` mean."""
    by_key = {spec.key: spec for spec in project.envs}
    if package_format is None and name in by_key and name not in {s.name for s in project.envs}:
        return by_key[name]
    if "," in name or name == "ALL":
        msg = f"nixtox shell takes one env, got {name!r}"
        raise EnvSelectionError(msg)
    candidates = select_envs(project, Selection(env=name, skip_env=""))
    if package_format is not None:
        chosen = [s for s in candidates if s.package_format == package_format]
        if not chosen:
            formats = ", ".join(s.package_format for s in candidates)
            msg = f"{name} has no package format {package_format!r} (it has: {formats})"
            raise EnvSelectionError(msg)
        return chosen[0]
    if len(candidates) > 1:
        keys = ", ".join(s.key for s in candidates)
        formats = " or ".join(s.package_format for s in candidates)
        msg = f"{name} has several package formats: name one ({keys}) or add --format {formats}"
        raise EnvSelectionError(msg)
    return candidates[0]


def shell_environ(
    spec: EnvSpec,
    *,
    store_path: Path,
    env_dir: Path,
    environ: Mapping[str, str] | None = None,
    bytecode: Path | None = None,
) -> dict[str, str]:
    """The caller's environment with the env's variables on top (PATH, VIRTUAL_ENV, set_env, prompt)."""
    base = dict(os.environ if environ is None else environ)
    # a shell keeps Python's own (random) hashing unless the user set it
    ours = command_environ(
        spec, store_path=store_path, env_dir=env_dir, hash_seed=None, environ=base, bytecode=bytecode
    )
    result = {**base, **ours}
    result.pop("PYTHONHOME", None)  # would point the env's python at another prefix
    result["NIXTOX_ENV_KEY"] = spec.key
    return result


def prompt_marker(spec: EnvSpec) -> str:
    return f"(nixtox:{spec.key}) "


def _bash_rcfile(env_dir: Path, spec: EnvSpec, environ: Mapping[str, str]) -> Path:
    """An rc file that reads ~/.bashrc, then puts the env back first on PATH and marks the prompt."""
    rc = env_dir / "shellrc.bash"
    marker = shlex.quote(prompt_marker(spec))
    text = (
        "# written by nixtox shell\n"
        '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n'
        f"export PATH={shlex.quote(environ['PATH'])}\n"
        f'PS1={marker}"${{PS1:-\\$ }}"\n'
    )
    rc.write_text(text, encoding="utf-8")
    return rc


def interactive_shell(
    env_dir: Path, spec: EnvSpec, environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the interactive shell ($SHELL, else bash) with the prompt marker."""
    shell = environ.get("SHELL") or "bash"
    if Path(shell).name == "bash":
        return [shell, "--rcfile", str(_bash_rcfile(env_dir, spec, environ)), "-i"], dict(environ)
    return [shell, "-i"], {**environ, "PS1": prompt_marker(spec) + environ.get("PS1", DEFAULT_PS1)}


@contextmanager
def _signals_go_to(child: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Ctrl-C belongs to the child (the shell, or the command): nixtox just waits for it. SIGTERM and
    SIGHUP sent to nixtox alone (``timeout``, a closed terminal) are passed on to the child, which then
    ends as it would have on its own.

    Python handlers, not SIG_IGN: handlers are reset on exec, so the child gets default signals."""

    def ignore(_signum: int, _frame: FrameType | None) -> None:
        return None

    def forward(signum: int, _frame: FrameType | None) -> None:
        for proc in child:
            proc.send_signal(signum)

    handlers = {
        signal.SIGINT: ignore,
        signal.SIGQUIT: ignore,
        signal.SIGTERM: forward,
        signal.SIGHUP: forward,
    }
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _warn(text: str) -> None:
    click.secho(text.rstrip("\n"), fg="yellow", err=True)


def run_in_env(argv: list[str], environ: Mapping[str, str], cwd: Path | None = None) -> int:
    """Run ``argv`` (looked up on the env's PATH) and return its exit code (128+N for signal N)."""
    child: list[subprocess.Popen[bytes]] = []
    try:
        with _signals_go_to(child), start_protected(argv, env=dict(environ), cwd=cwd, warn=_warn) as proc:
            child.append(proc)
            code: int = proc.wait()
    except FileNotFoundError:
        click.secho(f"error: command {argv[0]!r} not found in the env nor on PATH", fg="red", err=True)
        return NOT_FOUND
    except PermissionError as exc:
        click.secho(f"error: cannot run {argv[0]!r}: {exc.strerror}", fg="red", err=True)
        return 126
    return 128 - code if code < 0 else code


def realise_one(options: RunOptions, spec: EnvSpec, output: Output | None = None) -> RealisedEnv:
    """``spec`` built (when not up to date) with ``options``: its realised env, or the reason it is not."""
    options = replace(
        options, selection=Selection(env=spec.name, skip_env="", keys=(spec.key,)),
    )  # fmt: skip
    prepared = prepare_envs(options, events=NotifyOnly((output or Output()).notice))
    for ready in prepared.live:
        if ready.spec.key == spec.key:
            return ready
    failed = prepared.ended.get(spec.key)
    reason = failed.reason if failed is not None else "it was not selected"
    msg = f"env {spec.label} is not available: {reason}"
    raise NixtoxError(msg)


FORMAT_OPTION = click.option(
    "--format", "package_format", help="package format of an env with several (sdist, wheel ...)"
)
RECREATE_OPTION = click.option("-r", "--recreate", is_flag=True, help="rebuild the env even when up to date")
LOCKED_OPTION = click.option(
    "--locked", is_flag=True, help="fail when nixtox.lock is missing or stale instead of relocking"
)


@click.command("shell", context_settings={"ignore_unknown_options": False})
@project_options
@FORMAT_OPTION
@RECREATE_OPTION
@LOCKED_OPTION
@click.argument("env")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def shell_cmd(
    ctx: click.Context,
    *,
    target: Target,
    output: Output,
    package_format: str | None,
    recreate: bool,
    locked: bool,
    env: str,
    command: tuple[str, ...],
) -> None:
    """Enter ENV in an interactive shell, or run one command in it: nixtox shell py312 -- pytest -x.

    ENV is an env name, or a key such as py312-sdist when the env has several package formats."""
    spec = choose_env(target.load(), env, package_format)
    lock = LockPolicy(locked=locked, write=not target.expand.changes_requirements)
    realised = realise_one(target.run_options(recreate=recreate, lock=lock), spec, output)
    env_dir = spec.env_dir
    prepare_env_dir(env_dir, realised.store_path)
    bytecode = command_bytecode(env_dir, realised.store_path)
    environ = shell_environ(spec, store_path=realised.store_path, env_dir=env_dir, bytecode=bytecode)
    for path in restore_tree_files(realised.store_path):
        click.secho(f"nixtox: restored {path} (the editable build of the package wrote it)", err=True)
    if command:
        ctx.exit(run_in_env(list(command), environ))
    if output.verbosity >= DEFAULT_VERBOSITY:
        click.secho(
            f"nixtox: entering {spec.label} ({realised.store_path}); exit to leave", err=True, fg="green"
        )
    argv, shell_env = interactive_shell(env_dir, spec, environ)
    ctx.exit(run_in_env(argv, shell_env))
