"""Run stage: a realised env's commands on the host, with tox's semantics."""

from __future__ import annotations

import os
import time
from pathlib import Path

from nixtox.model import CommandOutcome, EnvResult, RealisedEnv, Status
from nixtox.run._commands import OutputSink, allow_commands, run_commands, stop_all_processes
from nixtox.run._environ import DEFAULT_PASS_ENV, command_environ
from nixtox.run._pycache import pycache_dir, seed_pycache
from nixtox.run._schedule import dependency_order, schedule

__all__ = [
    "DEFAULT_PASS_ENV",
    "OutputSink",
    "allow_commands",
    "command_environ",
    "dependency_order",
    "run_env",
    "schedule",
    "seed_pycache",
    "stop_all_processes",
]


def run_env(realised: RealisedEnv, *, hash_seed: str, sink: OutputSink, setup_seconds: float) -> EnvResult:
    spec = realised.spec
    env_dir = spec.env_dir
    env_dir.mkdir(parents=True, exist_ok=True)
    _link_env(env_dir, realised.store_path)
    environ = command_environ(spec, store_path=realised.store_path, env_dir=env_dir, hash_seed=hash_seed)
    seed_pycache(realised.store_path, pycache_dir(env_dir))
    start = time.monotonic()
    ran = run_commands(
        spec, environ=environ, store_path=realised.store_path, cwd=spec.config.change_dir, sink=sink
    )
    outcomes: tuple[CommandOutcome, ...] = tuple(ran.outcomes)
    # tox counts extra_setup_commands as part of the env's setup
    in_setup = sum(o.seconds for o in outcomes if o.phase.in_setup)
    failed: CommandOutcome | None = ran.failed
    return EnvResult(
        spec=spec,
        status=Status.OK if failed is None else Status.FAIL,
        reason="" if failed is None else _reason(failed),
        realised=realised,
        commands=outcomes,
        setup_seconds=setup_seconds + in_setup,
        command_seconds=max(time.monotonic() - start - in_setup, 0.0),
        exit_code=ran.exit_code,
    )


def _link_env(env_dir: Path, store_path: Path) -> None:
    """``{env_bin_dir}``/``{env_python}`` name the env dir: it links to the env's own ``bin``, ``lib`` and
    ``pyvenv.cfg``, so ``{env_python}`` is the env's interpreter with the env's packages (Python finds
    its venv next to the path it was started as)."""
    for entry in store_path.iterdir():
        link = env_dir / entry.name
        if entry.name == "nix-support" or (link.exists() and not link.is_symlink()):
            continue
        if link.is_symlink() and Path(os.readlink(link)) == entry:
            continue
        fresh = env_dir / f".{entry.name}-{os.getpid()}"
        fresh.unlink(missing_ok=True)
        fresh.symlink_to(entry)
        fresh.replace(link)  # atomic: a parallel reader sees the old link or the new one


def _reason(failed: CommandOutcome) -> str:
    said = f"exit {failed.exit_code} from {' '.join(failed.command.argv)}"
    return f"{failed.phase} failed: {said}" if failed.phase.in_setup else said
