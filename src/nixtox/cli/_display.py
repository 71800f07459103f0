"""What the user sees while envs build and run.

* one env at a time (``-p 0``): each command's output is streamed as it comes, as tox does;
* several at once: each env's output is shown as one block when the env ends (never interleaved), or,
  with ``-o/--live``, streamed line by line with an ``env: `` prefix;
* on a terminal (and not under CI=true), parallel runs also keep one status line per env that updates in
  place (queued, running, ok, fail, ...) with elapsed seconds; elsewhere status changes are plain lines.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

import click

from nixtox.model import EnvResult, EnvSpec

__all__ = ["Display"]

_COLOURS = {"ok": "green", "fail": "red", "error": "red", "interrupted": "red", "skip": "yellow"}


class Display:
    def __init__(self, *, parallel: bool, live: bool, stream: TextIO | None = None) -> None:
        self.out = stream or sys.stdout
        self.parallel = parallel
        self.live = live
        self.tty = self.out.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")
        self.status_lines = parallel and self.tty and not live
        self._lock = threading.RLock()
        self._buffers: dict[str, list[str]] = {}
        self._state: dict[str, tuple[str, str, float]] = {}  # key -> (label, state, since)
        self._drawn = 0
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- Events protocol ---------------------------------------------------------------------------
    def notify(self, text: str) -> None:
        with self._lock:
            self._clear()
            self.out.write(text if text.endswith("\n") else text + "\n")
            self._draw()

    def env_started(self, spec: EnvSpec) -> None:
        with self._lock:
            self._state[spec.key] = (spec.label, "running", time.monotonic())
            if self.parallel and not self.status_lines and not self.live:
                self._write_line(f"{spec.label}: started")
            self._draw()
        self._start_ticker()

    def env_output(self, spec: EnvSpec, text: str) -> None:
        with self._lock:
            if not self.parallel:
                self.out.write(text)
                self.out.flush()
            elif self.live:
                for line in text.splitlines():
                    self._write_line(f"{spec.label}: {line}")
            else:
                self._buffers.setdefault(spec.key, []).append(text)

    def env_done(self, result: EnvResult) -> None:
        with self._lock:
            key = result.spec.key
            self._state[key] = (result.spec.label, result.status, time.monotonic())
            self._clear()
            block = "".join(self._buffers.pop(key, []))
            if block:
                self.out.write(block if block.endswith("\n") else block + "\n")
            if result.status in ("error", "skip") and result.reason:
                colour = "red" if result.status == "error" else "yellow"
                self.out.write(click.style(f"{result.spec.label}: {result.reason}", fg=colour) + "\n")
            elif self.parallel and not self.status_lines:
                self._write_line(f"{result.spec.label}: {result.status}")
            self.out.flush()
            self._draw()

    # -- status area -------------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._clear()

    def _write_line(self, text: str) -> None:
        self._clear()
        self.out.write(text + "\n")
        self.out.flush()
        self._draw()

    def _start_ticker(self) -> None:
        if not self.status_lines or self._ticker is not None:
            return
        self._ticker = threading.Thread(target=self._tick, name="nixtox-display", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                self._clear()
                self._draw()

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        if not self.status_lines:
            return
        now = time.monotonic()
        lines = []
        for label, state, since in self._state.values():
            if state == "running":
                lines.append(f"  {label}: running {now - since:5.1f} s")
            else:
                lines.append(click.style(f"  {label}: {state}", fg=_COLOURS.get(state)))
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
        self._drawn = len(lines)
