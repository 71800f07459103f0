"""Run one env's commands with tox semantics: pre, main, post; ``-``/``!``; allowlist_externals."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from nixtox.model import Command, CommandOutcome, EnvSpec, Phase
from nixtox.report._lines import command_line, exit_lines, message_line
from nixtox.run._tox import NOT_RUNNABLE, Ran, resolve_program, run_all, spawn

__all__ = ["NOT_RUNNABLE", "OutputSink", "allow_commands", "run_commands", "stop_all_processes"]

OutputSink = Callable[[str], None]

#: commands running right now (all threads), so a Ctrl-C can stop every one of them.
_RUNNING: dict[int, tuple[subprocess.Popen[str], EnvSpec]] = {}
_RUNNING_LOCK = threading.Lock()
#: set by a Ctrl-C: no further command starts (commands_post neither) until the next session.
_INTERRUPTED = threading.Event()


def _run_one(
    command: Command, phase: str, *, cwd: Path, environ: Mapping[str, str], spec: EnvSpec,
    env_bin: Path, sink: OutputSink,
) -> CommandOutcome:  # fmt: skip
    started = time.time()
    start = time.monotonic()
    sink(command_line(spec, phase, command, cwd))
    program, reason = resolve_program(
        command.argv[0], env_bin=env_bin, path=environ["PATH"], allowlist=spec.config.allowlist_externals
    )
    if program is None:
        message = f"{spec.label}: {reason}\n"
        sink(message_line(spec.label, reason))
        return CommandOutcome(command, Phase(phase), NOT_RUNNABLE, message, started, time.monotonic() - start)
    running: list[subprocess.Popen[str]] = []

    def register(proc: subprocess.Popen[str]) -> None:
        running.append(proc)
        with _RUNNING_LOCK:
            _RUNNING[proc.pid] = (proc, spec)

    try:
        code, output, seconds = spawn(
            [program, *command.argv[1:]], cwd=cwd, environ=environ, sink=sink, started=register, warn=sink
        )
    except KeyboardInterrupt:
        for proc in running:
            _stop(proc, spec)
        raise
    finally:
        with _RUNNING_LOCK:
            for proc in running:
                _RUNNING.pop(proc.pid, None)
    pid = running[0].pid if running else None
    outcome = CommandOutcome(
        command, Phase(phase), code, output, started, seconds, pid=pid, executable=program
    )
    for line in exit_lines(spec, outcome, cwd, pid):
        sink(line)
    return outcome


def _stop(proc: subprocess.Popen[str], spec: EnvSpec) -> None:
    """Ctrl-C: give the command ``suicide_timeout`` to exit, then interrupt its process group, then
    terminate, then kill (tox's timeouts)."""
    if spec.config.suicide_timeout > 0:
        try:
            proc.wait(timeout=spec.config.suicide_timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    for sig, wait in (
        (signal.SIGINT, spec.config.interrupt_timeout),
        (signal.SIGTERM, spec.config.terminate_timeout),
        (signal.SIGKILL, 5.0),
    ):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if _group_ended(proc, time.monotonic() + max(wait, 0.05)):
            return


def _group_ended(proc: subprocess.Popen[str], deadline: float) -> bool:
    """Whether the command and every process of its group exited before ``deadline``."""
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        return False
    while True:
        try:
            os.killpg(proc.pid, 0)  # the group outlives its leader while any member runs
        except (ProcessLookupError, PermissionError):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def stop_all_processes() -> None:
    """Interrupt, then terminate, then kill every running command's process group (Ctrl-C)."""
    _INTERRUPTED.set()
    with _RUNNING_LOCK:
        running = list(_RUNNING.values())
    threads = [threading.Thread(target=_stop, args=item) for item in running]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def allow_commands() -> None:
    """A new session: commands may start again after an earlier Ctrl-C."""
    _INTERRUPTED.clear()


def run_commands(
    spec: EnvSpec, *, environ: Mapping[str, str], store_path: Path, cwd: Path, sink: OutputSink
) -> Ran:
    """The env's commands with tox's semantics (``nix/checks/tox_commands.py``): extra_setup_commands,
    commands_pre, then commands (stopping at the first failure unless ignore_errors), then commands_post
    (also after a failure, as in tox; not after Ctrl-C); a failed pre command skips the main commands;
    a failing command is retried ``commands_retry`` times."""
    env_bin = store_path / "bin"

    def run_one(command: Command, phase: str) -> CommandOutcome:
        return _run_one(command, phase, cwd=cwd, environ=environ, spec=spec, env_bin=env_bin, sink=sink)

    phases = [(str(phase), commands) for phase, commands in spec.config.phases()]
    return run_all(
        phases, run_one, ignore_errors=spec.config.ignore_errors, retries=spec.config.commands_retry,
        stopped=_INTERRUPTED.is_set,
    )  # fmt: skip
