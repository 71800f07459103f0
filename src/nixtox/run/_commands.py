"""Run one env's commands with tox semantics: pre, main, post; ``-``/``!``; allowlist_externals."""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from nixtox.model import Command, CommandOutcome, EnvSpec
from nixtox.run._readonly import start_protected

__all__ = ["OutputSink", "allow_commands", "run_commands", "stop_all_processes"]

OutputSink = Callable[[str], None]

#: exit code of a command nixtox refused to start (not found, not allowed), as a shell would give.
NOT_RUNNABLE = 127

#: commands running right now (all threads), so a Ctrl-C can stop every one of them.
_RUNNING: dict[int, tuple[subprocess.Popen[str], EnvSpec]] = {}
_RUNNING_LOCK = threading.Lock()
#: set by a Ctrl-C: no further command starts (commands_post neither) until the next session.
_INTERRUPTED = threading.Event()


def _resolve_program(
    program: str, *, env_bin: Path, path: str, allowlist: tuple[str, ...]
) -> tuple[str | None, str]:
    """(executable, "") or (None, reason). Programs outside the env need allowlist_externals."""
    if os.sep in program:
        candidate = Path(program)
        found = str(candidate) if candidate.is_file() else None
    else:
        found = shutil.which(program, path=path)
    if found is None:
        return None, f"command {program!r} not found"
    if Path(found).parent == env_bin or found.startswith(str(env_bin) + os.sep):
        return found, ""
    if any(fnmatch.fnmatch(program, pat) or fnmatch.fnmatch(found, pat) for pat in allowlist):
        return found, ""
    return None, (
        f"{program!r} ({found}) is not part of the env and not in allowlist_externals;"
        f" add it there to allow it"
    )


def _run_one(
    command: Command, phase: str, *, cwd: Path, environ: Mapping[str, str], spec: EnvSpec,
    env_bin: Path, sink: OutputSink,
) -> CommandOutcome:  # fmt: skip
    started = time.time()
    start = time.monotonic()
    shown = shlex.join(command.as_json())
    sink(f"{spec.label}: {phase}> {shown}\n")
    program, reason = _resolve_program(
        command.argv[0], env_bin=env_bin, path=environ["PATH"], allowlist=spec.config.allowlist_externals
    )
    if program is None:
        message = f"{spec.label}: {reason}\n"
        sink(message)
        return CommandOutcome(command, phase, NOT_RUNNABLE, message, started, time.monotonic() - start)
    chunks: list[str] = []
    with start_protected(
        [program, *command.argv[1:]],
        warn=sink,
        cwd=cwd,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as proc:
        with _RUNNING_LOCK:
            _RUNNING[proc.pid] = (proc, spec)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                chunks.append(line)
                sink(line)
            code = proc.wait()
        except KeyboardInterrupt:
            _stop(proc, spec)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(proc.pid, None)
    return CommandOutcome(command, phase, code, "".join(chunks), started, time.monotonic() - start)


def _stop(proc: subprocess.Popen[str], spec: EnvSpec) -> None:
    """Ctrl-C: interrupt the command's process group, then terminate, then kill (tox's timeouts), until
    no process of the group is left: a command's own children (a test server, a worker) go too."""
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
) -> tuple[CommandOutcome, ...]:
    """commands_pre, then commands (stopping at the first failure unless ignore_errors), then
    commands_post (also after a failure, as in tox; not after Ctrl-C); a failed pre command skips the
    main commands."""
    outcomes: list[CommandOutcome] = []
    env_bin = store_path / "bin"

    def phase(commands: tuple[Command, ...], name: str, *, keep_going: bool) -> bool:
        ok = True
        for command in commands:
            if _INTERRUPTED.is_set():
                return False
            outcome = _run_one(command, name, cwd=cwd, environ=environ, spec=spec, env_bin=env_bin, sink=sink)
            outcomes.append(outcome)
            if not outcome.ok:
                ok = False
                if not keep_going:
                    break
        return ok

    if phase(spec.config.commands_pre, "commands_pre", keep_going=False):
        phase(spec.config.commands, "commands", keep_going=spec.config.ignore_errors)
    if not _INTERRUPTED.is_set():
        phase(spec.config.commands_post, "commands_post", keep_going=True)
    return tuple(outcomes)
