"""The one way nixtox starts a subprocess: argv lists, a clear "not found", a frozen outcome."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nixtox import _profile
from nixtox.errors import NixtoxError

__all__ = ["ProcessOutcome", "find_program", "run_process"]


@dataclass(frozen=True)
class ProcessOutcome:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def find_program(name: str, path: str | None = None, *, what: str = "") -> str:
    """Absolute path of ``name`` on ``path`` (default: PATH), or a NixtoxError saying what to install."""
    if os.sep in name:
        if os.access(name, os.X_OK):
            return name
        found = None
    else:
        found = shutil.which(name, path=path)
    if found is None:
        hint = f" ({what})" if what else ""
        raise NixtoxError(f"program {name!r} not found on PATH{hint}")
    return found


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check_program: bool = True,
    on_stderr_line: Callable[[str], None] | None = None,
) -> ProcessOutcome:
    """Run ``argv`` to completion with output captured; ``on_stderr_line`` sees stderr as it comes."""
    args = list(argv)
    if check_program:
        args[0] = find_program(args[0], (env or os.environ).get("PATH"))
    start = time.monotonic()
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    ) as proc:
        try:
            if on_stderr_line is None:
                stdout, stderr = proc.communicate(input_text)
            else:
                stdout, stderr = _follow_stderr(proc, on_stderr_line)
        except KeyboardInterrupt:
            _interrupt(proc)
            raise
    seconds = time.monotonic() - start
    _profile.note(f"call:{_call_name(args)}", seconds)
    return ProcessOutcome(tuple(args), proc.returncode, stdout, stderr, seconds)


def _call_name(args: Sequence[str]) -> str:
    """``nix-store --realise``, ``uv pip``: the program and its first word that says what it does."""
    what = next((a for a in args[1:] if not a.startswith("--option") and a not in ("", "-q")), "")
    return f"{os.path.basename(args[0])} {what}".strip()


def _follow_stderr(proc: subprocess.Popen[str], on_line: Callable[[str], None]) -> tuple[str, str]:
    """Read stdout in a thread while handing each stderr line to ``on_line``."""
    out: list[str] = []
    assert proc.stdout is not None
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else ""))
    reader.start()
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        on_line(line)
    reader.join()
    proc.wait()
    return "".join(out), "".join(lines)


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C: pass SIGINT on (Nix then stops its builders and cleans up), kill only if it lingers."""
    for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
