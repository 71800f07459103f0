"""Interpreter requests: ``py312``, ``3.12``, ``cpython3.12``, ``pypy310``, ``py312t``, a path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["InterpreterRequest", "parse_request"]

#: ``py``/``python`` mean "any implementation, CPython preferred", as in tox.
_IMPLEMENTATIONS = {"py": None, "python": None, "cpython": "cpython", "cp": "cpython", "pypy": "pypy"}

_REQUEST = re.compile(
    r"""^(?P<impl>python|cpython|pypy|py|cp)?
        (?P<version>\d+(?:\.\d+){0,2})?
        (?P<t>t)?$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class InterpreterRequest:
    """What a request asks for; ``None`` fields match anything."""

    text: str | None
    implementation: str | None = None
    version: tuple[int, ...] = ()
    free_threaded: bool = False
    path: Path | None = None

    def matches(self, implementation: str, version: tuple[int, int, int], free_threaded: bool) -> bool:
        if self.implementation is not None and implementation != self.implementation:
            return False
        if free_threaded != self.free_threaded:
            return False
        return version[: len(self.version)] == self.version

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        impl = self.implementation or "python"
        version = ".".join(map(str, self.version))
        return f"{impl}{version}{'t' if self.free_threaded else ''}"


def _split_digits(digits: str) -> tuple[int, ...]:
    """``312`` -> (3, 12), ``27`` -> (2, 7), ``3`` -> (3,) - the tox env-name convention."""
    if len(digits) == 1:
        return (int(digits),)
    return (int(digits[0]), int(digits[1:]))


def parse_request(request: str | None) -> InterpreterRequest | None:
    """Parse a request; ``None`` when the text is not an interpreter request at all."""
    if request is None or request in ("", "py", "python"):
        return InterpreterRequest(text=request)
    if "/" in request or request.startswith("~"):
        return InterpreterRequest(text=request, path=Path(request).expanduser())
    match = _REQUEST.match(request.lower())
    if match is None or (match["impl"] is None and match["version"] is None):
        return None
    implementation = _IMPLEMENTATIONS[match["impl"] or "py"]
    version_text = match["version"] or ""
    if "." in version_text:
        version = tuple(int(part) for part in version_text.split("."))
    elif version_text:
        if match["impl"] is None and len(version_text) > 1:
            return None  # a bare "312" is not a request (a bare "3" is)
        version = _split_digits(version_text)
    else:
        version = ()
    if match["t"] and (len(version) < 2 or implementation == "pypy"):
        return None
    return InterpreterRequest(
        text=request, implementation=implementation, version=version, free_threaded=bool(match["t"])
    )
