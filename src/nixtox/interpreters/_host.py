"""The ``host`` provider: interpreters already on this machine.

Searched in order: PATH (shim directories skipped: a pyenv shim is a shell script that picks a version
by the caller's directory), ``$PYENV_ROOT/versions/*/bin``, uv's managed pythons, ``/usr/bin``,
``/usr/local/bin``. Candidates are filtered by file name before probing (``python3.11`` cannot satisfy
``3.12``), then probed once each (cached).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nixtox.interpreters._probe import ProbeCache, ProbedInterpreter
from nixtox.interpreters._request import InterpreterRequest

__all__ = ["MIN_VERSION", "HostSearch", "host_search_dirs"]

#: nixtox builds environments for these interpreters and newer.
MIN_VERSION = (3, 8)

_NAME = re.compile(r"^(?P<impl>python|pypy)(?P<version>\d+(?:\.\d+)?)?(?P<t>t)?$")


def _uv_python_dir() -> Path:
    # the same rule as `uv python dir`, without spending a subprocess on every run
    if os.environ.get("UV_PYTHON_INSTALL_DIR"):
        return Path(os.environ["UV_PYTHON_INSTALL_DIR"])
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "uv" / "python"


def _glob_bins(base: Path) -> list[Path]:
    try:
        return sorted((entry / "bin" for entry in base.iterdir() if entry.is_dir()), reverse=True)
    except OSError:
        return []


def host_search_dirs() -> list[tuple[str, list[Path]]]:
    """(label, directories) in search order; the labels appear in the not-found message."""
    path_dirs = [
        Path(d) for d in os.environ.get("PATH", "").split(os.pathsep) if d and Path(d).name != "shims"
    ]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    uv_dir = _uv_python_dir()
    return [
        ("PATH", path_dirs),
        (f"{pyenv}/*/bin", _glob_bins(pyenv)),
        (f"{uv_dir}/*/bin", _glob_bins(uv_dir)),
        ("/usr/bin", [Path("/usr/bin")]),
        ("/usr/local/bin", [Path("/usr/local/bin")]),
    ]


def _name_may_match(name: str, request: InterpreterRequest) -> bool:
    match = _NAME.match(name)
    if match is None:
        return False
    if match["t"] and not request.free_threaded:
        return False
    if request.implementation == "pypy" and match["impl"] != "pypy":
        return False
    if request.implementation == "cpython" and match["impl"] != "python":
        return False
    text = match["version"] or ""
    named = tuple(int(p) for p in text.split(".")) if "." in text else ((int(text),) if text else ())
    common = min(len(named), len(request.version))
    return named[:common] == request.version[:common]


@functools.lru_cache(maxsize=4)
def _python_names(path_variable: str) -> tuple[tuple[str, str], ...]:
    """(directory, file name) of every python-looking file, in search order; listed once per process."""
    del path_variable  # part of the cache key: host_search_dirs() reads PATH
    found: list[tuple[str, str]] = []
    for _, dirs in host_search_dirs():
        for directory in dirs:
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                continue
            found += [(str(directory), name) for name in names if _NAME.match(name)]
    return tuple(found)


@dataclass
class HostSearch:
    """One search of the host: what matched, what was too old (for the not-found message)."""

    cache: ProbeCache
    too_old: list[ProbedInterpreter] = field(default_factory=list)
    other: list[ProbedInterpreter] = field(default_factory=list)

    def _candidates(self, request: InterpreterRequest) -> Iterator[str]:
        seen: set[str] = set()
        for directory, name in _python_names(os.environ.get("PATH", "")):
            if not _name_may_match(name, request):
                continue
            real = os.path.realpath(os.path.join(directory, name))
            if real in seen or not os.access(real, os.X_OK) or os.path.isdir(real):
                continue
            seen.add(real)
            yield real

    def find(self, request: InterpreterRequest) -> ProbedInterpreter | None:
        """The best match: highest version, then CPython before others, then search order."""
        if request.path is not None:
            probed = self.cache.probe(request.path)
            return self._accept(probed, request)
        best: tuple[tuple[int, ...], int, int] | None = None
        chosen: ProbedInterpreter | None = None
        for order, candidate in enumerate(self._candidates(request)):
            probed = self._accept(self.cache.probe(candidate), request)
            if probed is None:
                continue
            rank = (probed.version, probed.implementation == "cpython", -order)
            if best is None or rank > best:
                best, chosen = rank, probed
        return chosen

    def _accept(
        self, probed: ProbedInterpreter | None, request: InterpreterRequest
    ) -> ProbedInterpreter | None:
        if probed is None:
            return None
        by_path = request.path is not None
        if not by_path and not request.matches(probed.implementation, probed.version, probed.free_threaded):
            if probed not in self.other:
                self.other.append(probed)
            return None
        if probed.version[:2] < MIN_VERSION:
            self.too_old.append(probed)
            return None
        return probed
