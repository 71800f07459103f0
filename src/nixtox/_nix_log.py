"""Nix's ``--log-format internal-json``, read as it comes: whose build log a line is, which machine builds.

Nix's plain log does not say which derivation a builder's line belongs to while several build, nor
when a build ends. Its internal JSON log does: every build is an activity (``"type": 105``, with the
derivation and the machine it runs on) and every log line a result of one activity (``"type": 101``).
A remote build shows twice: the local activity "building … on 'ssh-ng://…'" and, forwarded by the
builder's daemon, the builder's own one, which carries the log lines; both name the derivation.

``NixLogReader.feed`` takes one line of stderr, tells a ``BuildWatcher`` what happened, and returns
the line as Nix's plain log would have printed it (None: the plain log would not show it), so the
parsers of the plain log (``parse_realise_errors``, the cache's ``parse_transfer``, ``BuildProgress``)
read the same text in both formats.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["BuildWatcher", "NixLogReader", "machine_host"]

_PREFIX = "@nix "
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Nix's activity and result types (libutil/logging.hh)
_ACT_COPY_PATH, _ACT_BUILD = 100, 105
_RES_BUILD_LOG_LINE = 101
#: the plain log shows messages and activities up to lvlInfo (3), Nix's default verbosity
_SHOWN_LEVEL = 3


class BuildWatcher(Protocol):
    """What a caller of ``realise`` hears about each derivation while Nix builds."""

    def build_started(self, drv: str, machine: str) -> None:
        """``machine``: "" for this machine, else the builder (``ssh-ng://host``)."""

    def build_line(self, drv: str, line: str) -> bool:
        """True: the line is the watcher's (not part of the plain log then)."""

    def build_stopped(self, drv: str, machine: str) -> None: ...

    def path_copied(self, path: str, source: str) -> None:
        """A path arrived in this store (from a builder after its build, or from a cache)."""


def machine_host(machine: str) -> str:
    """``ssh-ng://root@builder-1?ssh-key=…`` -> ``builder-1``; "" (this machine) -> ``local``."""
    if not machine or machine in ("local", "auto", "daemon"):
        return "local"
    rest = machine.split("://", 1)[-1]
    return rest.split("?", 1)[0].rsplit("@", 1)[-1].rstrip("/") or machine


@dataclass
class _Activity:
    kind: int
    drv: str = ""
    machine: str = ""
    path: str = ""
    source: str = ""


class NixLogReader:
    """One ``nix-store --realise --log-format internal-json`` call's stderr, line by line."""

    def __init__(self, watcher: BuildWatcher) -> None:
        self.watcher = watcher
        self.activities: dict[int, _Activity] = {}

    def feed(self, raw: str) -> str | None:
        if not raw.startswith(_PREFIX):
            return raw  # Nix writes a few things plainly even in this format
        try:
            event: dict[str, Any] = json.loads(raw[len(_PREFIX) :])
        except ValueError:
            return raw
        action = event.get("action")
        if action == "msg":
            return self._message(event)
        if action == "start":
            return self._start(event)
        if action == "stop":
            self._stop(event)
        elif action == "result" and event.get("type") == _RES_BUILD_LOG_LINE:
            activity = self.activities.get(int(event.get("id", 0)))
            line = str((event.get("fields") or [""])[0])
            if activity is None or not activity.drv or not self.watcher.build_line(activity.drv, line):
                return line + "\n"  # as the plain log shows a builder's output
        return None

    @staticmethod
    def _message(event: dict[str, Any]) -> str | None:
        if int(event.get("level", 0)) > _SHOWN_LEVEL:
            return None
        return _ANSI.sub("", str(event.get("msg", ""))) + "\n"

    def _start(self, event: dict[str, Any]) -> str | None:
        kind = int(event.get("type", 0))
        fields = event.get("fields") or []
        activity = _Activity(kind)
        if kind == _ACT_BUILD and fields:
            activity.drv, activity.machine = str(fields[0]), str(fields[1]) if len(fields) > 1 else ""
            self.watcher.build_started(activity.drv, activity.machine)
        elif kind == _ACT_COPY_PATH and len(fields) >= 2:
            activity.path, activity.source = str(fields[0]), str(fields[1])
        self.activities[int(event.get("id", 0))] = activity
        text = str(event.get("text", ""))
        if not text or int(event.get("level", 0)) > _SHOWN_LEVEL:
            return None
        return _ANSI.sub("", text) + "...\n"

    def _stop(self, event: dict[str, Any]) -> None:
        activity = self.activities.pop(int(event.get("id", 0)), None)
        if activity is None:
            return
        if activity.kind == _ACT_BUILD and activity.drv:
            self.watcher.build_stopped(activity.drv, activity.machine)
        elif activity.kind == _ACT_COPY_PATH and activity.path:
            self.watcher.path_copied(activity.path, activity.source)
