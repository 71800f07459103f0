"""Run stage: a realised env's commands on the host, with tox's semantics; or, for the envs that run
inside Nix, their check derivations' results (``run_in_nix``)."""

from __future__ import annotations

import time

from nixtox.model import CommandOutcome, EnvResult, RealisedEnv, Status
from nixtox.report._logs import LOG_DIR, write_command_logs
from nixtox.run._commands import OutputSink, allow_commands, run_commands, stop_all_processes
from nixtox.run._envdir import env_lock, link_env, prepare_env_dir, prepare_work_dir
from nixtox.run._environ import DEFAULT_PASS_ENV, command_environ
from nixtox.run._in_nix import (
    InNixOptions,
    InNixOutcome,
    nix_run_spec,
    recorded_results,
    refused_pass_env,
    run_in_nix,
    runs_in_nix,
)
from nixtox.run._pycache import command_bytecode, pycache_dir, seed_pycache
from nixtox.run._schedule import dependency_order, schedule
from nixtox.run._tree_files import restore_tree_files

__all__ = [
    "DEFAULT_PASS_ENV",
    "InNixOptions",
    "InNixOutcome",
    "OutputSink",
    "allow_commands",
    "command_bytecode",
    "command_environ",
    "dependency_order",
    "link_env",
    "nix_run_spec",
    "prepare_env_dir",
    "prepare_work_dir",
    "pycache_dir",
    "recorded_results",
    "refused_pass_env",
    "restore_tree_files",
    "run_env",
    "run_in_nix",
    "runs_in_nix",
    "schedule",
    "seed_pycache",
    "stop_all_processes",
]


def run_env(
    realised: RealisedEnv,
    *,
    hash_seed: str | None,
    sink: OutputSink,
    setup_seconds: float,
    no_test: bool = False,
) -> EnvResult:
    """The env's commands in its directory (none with ``no_test``: ``-n`` makes the env dir and runs
    nothing); a second nixtox running the same env waits for this one."""
    spec = realised.spec
    env_dir = spec.env_dir
    log_dir = env_dir / LOG_DIR
    with env_lock(env_dir):
        prepare_env_dir(env_dir, realised.store_path)
        spec.config.change_dir.mkdir(parents=True, exist_ok=True)  # as tox does
        bytecode = command_bytecode(env_dir, realised.store_path)
        environ = command_environ(
            spec, store_path=realised.store_path, env_dir=env_dir, hash_seed=hash_seed, bytecode=bytecode
        )
        for path in restore_tree_files(realised.store_path):
            sink(f"nixtox: restored {path} (the editable build of the package wrote it; it was gone)\n")
        if no_test:
            return EnvResult(spec=spec, status=Status.OK, realised=realised, setup_seconds=setup_seconds)
        start = time.monotonic()
        ran = run_commands(
            spec, environ=environ, store_path=realised.store_path, cwd=spec.config.change_dir, sink=sink
        )
        elapsed = time.monotonic() - start
        outcomes: tuple[CommandOutcome, ...] = tuple(ran.outcomes)
        write_command_logs(
            log_dir, spec, outcomes, environ=environ, cwd=spec.config.change_dir,
            env_bin=realised.store_path / "bin", default_pass_env=DEFAULT_PASS_ENV,
        )  # fmt: skip
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
        command_seconds=max(elapsed - in_setup, 0.0),
        exit_code=ran.exit_code,
        log_dir=log_dir,
    )


def _reason(failed: CommandOutcome) -> str:
    said = f"exit {failed.exit_code} from {' '.join(failed.command.argv)}"
    return f"{failed.phase} failed: {said}" if failed.phase.in_setup else said
