"""What the user sees while envs build and run, in the shapes tox 4 prints.

* one env at a time (``run``): each command's output is streamed as it comes, between tox's
  ``py312: commands[0]> ...`` and (on failure) ``py312: exit 1 (...) ...`` lines;
* several at once (``run-parallel``): an env's output is held back and shown, in one block, only when
  the env fails or has ``parallel_show_output``; ``-o/--live`` streams it instead, each output line
  prefixed by its env. On a terminal one spinner line (tox's ``⠋ [2/3] py311 | py312``) shows what runs;
  it is erased before anything else is written, so no stale status stays on the screen. Anywhere else
  (a pipe, a file, ``CI=true``, ``TERM=dumb``) the display never moves the cursor;
* after each env, tox's ``py311: OK ✔ in 2.45 seconds`` (not after the last one: the summary follows).

Colour follows tox: ``--colored yes|no`` first, then ``NO_COLOR``, ``FORCE_COLOR``, ``TTY_COMPATIBLE``,
``TERM=dumb``, and finally whether the stream is a terminal.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from typing import TextIO

from nixtox.cli._options import DEFAULT_VERBOSITY
from nixtox.model import EnvResult, EnvSpec
from nixtox.report._console import MARKS, done_line
from nixtox.report._lines import ERROR, WARNING, LogLine, Paint, message_line

__all__ = ["DEFAULT_VERBOSITY", "Display", "colour_enabled"]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ASCII_FRAMES = "|-+x*"
_CLEAR_LINE = "\r\x1b[K"
_SPINNER_WIDTH = 119


def colour_enabled(stream: TextIO, choice: str | None = None) -> bool:
    """tox's rule (tox/config/cli/parser.py): ``--colored`` wins, then the environment, then isatty."""
    if choice in ("yes", "no"):
        return choice == "yes"
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", ""):
        return True
    if (compatible := os.environ.get("TTY_COMPATIBLE", "")) in ("0", "1"):
        return compatible == "1"
    if os.environ.get("TERM", "") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _encodes(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _reason_lines(label: str, name: str, reason: str, level: int) -> list[str]:
    """An env's reason as one tox-style line (plus the build log tail, if any, as it is)."""
    first, _, rest = reason.strip("\n").partition("\n")
    # interpreter and lock errors name their env themselves; the line already starts with it
    first = first.removeprefix(f"env {name}: ").removeprefix(f"{name}: ")
    lines: list[str] = [message_line(label, first, level)]
    if rest:
        lines.append(rest + "\n")
    return lines


class Display:
    def __init__(
        self,
        *,
        parallel: bool,
        live: bool,
        stream: TextIO | None = None,
        colour: bool | None = None,
        verbosity: int = DEFAULT_VERBOSITY,
        spinner: bool = True,
    ) -> None:
        self.out = stream or sys.stdout
        self.parallel = parallel
        self.live = live
        self.verbosity = verbosity
        self.paint = Paint(colour_enabled(self.out) if colour is None else colour)
        interactive = _isatty(self.out) and os.environ.get("TERM", "") != "dumb"
        ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
        #: tox's spinner: parallel, not live, on a terminal, not under CI (tox's --parallel-no-spinner)
        self.spinner = spinner and parallel and not live and interactive and not ci
        self.unicode = _encodes(self.out, _FRAMES + "".join(MARKS.values()))
        self._lock = threading.RLock()
        self._buffers: dict[str, list[str]] = {}
        self._running: dict[str, tuple[str, float]] = {}  # key -> (label, since)
        self._total: int | None = None
        self._pending: str | None = None  # a done line, held until it is known not to be the last
        self._frame = 0
        self._drawn = False
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    # -- Events protocol ---------------------------------------------------------------------------
    def expect(self, count: int) -> None:
        """How many envs the run has (the spinner's ``[running/total]``)."""
        self._total = count

    def notify(self, text: str) -> None:
        """A notice (build progress, a config warning); ``-q`` hides them, as tox's WARNING level."""
        if self.verbosity < DEFAULT_VERBOSITY:
            return
        with self._lock:
            self._write(text if text.endswith("\n") else text + "\n")

    def env_started(self, spec: EnvSpec) -> None:
        with self._lock:
            self._flush_pending()
            self._running[spec.key] = (spec.label, time.monotonic())
            self._draw()
        self._start_ticker()

    def env_output(self, spec: EnvSpec, text: str) -> None:
        with self._lock:
            if isinstance(text, LogLine) and not text.visible(self.verbosity):
                return
            if not self.parallel:
                self._write(self.paint.line(text))
            elif self.live:
                self._write(self._prefixed(spec, text))
            else:
                self._buffers.setdefault(spec.key, []).append(text)

    def env_done(self, result: EnvResult) -> None:
        with self._lock:
            key, label = result.spec.key, result.spec.label
            since = self._running.pop(key, (label, None))[1]
            seconds = time.monotonic() - since if since is not None else result.setup_seconds
            text, colour = done_line(result, seconds, unicode=self.unicode)
            line = self.paint(text, colour) + "\n"
            self._flush_pending()
            held = self.parallel and not self.live
            shown = self._held_back(result) if held else []
            reason = self._reason(result)
            if not held:  # streamed: the reason belongs to the env's output, before its last line
                self._write("".join(reason))
            elif reason:
                shown += reason
            if shown or self._running:
                self._write(line)  # not the last env (or its output needs its header, as in tox)
            else:
                self._pending = line
            self._write("".join(shown))

    # -- pieces ------------------------------------------------------------------------------------
    def _held_back(self, result: EnvResult) -> list[str]:
        """A parallel env's output, to show now: when it failed or has ``parallel_show_output``."""
        block = self._buffers.pop(result.spec.key, [])
        if not block or not result.shows_parallel_output:
            return []
        parts = [self.paint.line(t) for t in block]
        if not parts[-1].endswith("\n"):
            parts[-1] += "\n"
        return parts

    def _reason(self, result: EnvResult) -> list[str]:
        """Why an env errored or was skipped, once (the summary does not repeat it)."""
        if result.status not in ("error", "skip") or not result.reason or self.verbosity < 1:
            return []
        level = ERROR if result.status == "error" else WARNING
        lines = _reason_lines(result.spec.label, result.spec.name, result.reason, level)
        return [self.paint.line(t) for t in lines]

    def _prefixed(self, spec: EnvSpec, text: str) -> str:
        if isinstance(text, LogLine):
            return self.paint.line(text)  # tox's lines carry their env already
        return "".join(f"{spec.label}: {line}\n" for line in text.splitlines())

    def _flush_pending(self) -> None:
        if self._pending is not None:
            line, self._pending = self._pending, None
            self._write(line)

    def close(self) -> None:
        """The run is over: the last env's done line is dropped (tox's summary follows)."""
        self._stop.set()
        with self._lock:
            self._pending = None
            self._clear()
            if self._ticker is not None:
                self.out.write("\x1b[?25h")  # the spinner hid the cursor
                self.out.flush()

    def _write(self, text: str) -> None:
        if not text:
            return
        self._clear()
        self.out.write(text)
        self.out.flush()
        self._draw()

    # -- the spinner (a terminal only) -------------------------------------------------------------
    def _start_ticker(self) -> None:
        if not self.spinner or self._ticker is not None:
            return
        with self._lock:
            self.out.write("\x1b[?25l")
        self._ticker = threading.Thread(target=self._tick, name="nixtox-display", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                self._frame += 1
                self._draw()

    def spinner_text(self) -> str:
        frames = _FRAMES if self.unicode else _ASCII_FRAMES
        total = f"/{self._total}" if self._total is not None else ""
        names = " | ".join(label for label, _ in self._running.values())
        text = textwrap.shorten(
            f"[{len(self._running)}{total}] {names}", width=_SPINNER_WIDTH - 1, placeholder="..."
        )
        return f"{frames[self._frame % len(frames)]} {text}"

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(_CLEAR_LINE)
            self._drawn = False

    def _draw(self) -> None:
        if not self.spinner or not self._running or self._stop.is_set():
            return
        self.out.write(_CLEAR_LINE + self.spinner_text())
        self.out.flush()
        self._drawn = True
