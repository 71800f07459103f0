"""Where a run's time goes: ``NIXTOX_PROFILE=FILE`` appends one JSON line per nixtox invocation.

The line holds the seconds of each phase: ``startup`` (interpreter start to ``main``: imports), each
pipeline stage (``stage:load`` ... ``stage:report``), every subprocess nixtox started (``call:nix-store
--realise``, ``call:git ls-files``, ...), every Nix build step (``build:<name>``) and the commands
(``commands``). The benchmark (``bench/``) reads it for its per-phase table. Without the variable nothing
is recorded and the cost is one dictionary lookup per event.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["enabled", "note", "phase", "startup", "write"]

_FILE = os.environ.get("NIXTOX_PROFILE", "")
_EVENTS: list[tuple[str, float]] = []
_LOCK = threading.Lock()


def enabled() -> bool:
    return bool(_FILE)


def note(name: str, seconds: float) -> None:
    if _FILE:
        with _LOCK:
            _EVENTS.append((name, seconds))


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    if not _FILE:
        yield
        return
    start = time.monotonic()
    try:
        yield
    finally:
        note(name, time.monotonic() - start)


def _process_age() -> float | None:
    """Seconds since this process started (Linux: /proc), or None."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - started_ticks / os.sysconf("SC_CLK_TCK")


def startup() -> None:
    """Record how long the interpreter took to reach nixtox's ``main`` (imports, mostly)."""
    if _FILE and (age := _process_age()) is not None:
        note("startup", age)


def write(total: float) -> None:
    if not _FILE:
        return
    with _LOCK:
        events = list(_EVENTS)
    line = json.dumps({"total": round(total, 4), "events": [[n, round(s, 4)] for n, s in events]})
    with contextlib.suppress(OSError), open(_FILE, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
