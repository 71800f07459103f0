"""Requirement lines that name local things: the project itself, other local projects, local files.

What tox accepts in ``deps`` besides index requirements: ``.``, ``.[extra]``, ``-e .``, a path to another
project (``../lib``, ``-e ../lib[x]``), a local wheel or sdist file, a ``file:`` URL, ``name @ file:...``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["LocalRequirement", "parse_local", "root_relative"]

_EDITABLE = re.compile(r"^(-e|--editable)(\s+|=)")
_DIRECT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[(?P<extras>[^\]]*)\])?\s*@\s*(?P<url>file:\S+)"
)
_EXTRAS = re.compile(r"^(?P<path>.*?)(\[(?P<extras>[^\]]*)\])?$")
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


@dataclass(frozen=True)
class LocalRequirement:
    path: Path
    extras: tuple[str, ...] = ()
    editable: bool = False
    #: the name given by ``name @ file:...`` (else known from the project's metadata)
    name: str | None = None

    @property
    def is_archive(self) -> bool:
        return self.path.name.endswith(_ARCHIVES)


def _path_of(text: str, base: Path) -> Path:
    if text.startswith("file:"):
        parsed = urlparse(text)
        return Path(unquote(parsed.path))
    return (base / Path(text).expanduser()).resolve()


def parse_local(line: str, base: Path) -> LocalRequirement | None:
    """The local requirement ``line`` names (paths relative to ``base``), or None for an index one."""
    text = line.strip()
    editable = False
    if match := _EDITABLE.match(text):
        editable, text = True, text[match.end() :].strip()
    if direct := _DIRECT.match(text):
        extras = tuple(e.strip() for e in (direct["extras"] or "").split(",") if e.strip())
        return LocalRequirement(_path_of(direct["url"], base), extras, editable, direct["name"])
    if not (editable or text.startswith((".", "/", "~", "file:"))):
        return None
    parts = _EXTRAS.match(text)
    assert parts is not None
    extras = tuple(e.strip() for e in (parts["extras"] or "").split(",") if e.strip())
    return LocalRequirement(_path_of(parts["path"].strip(), base), extras, editable)


def root_relative(path: Path, root: Path) -> str:
    """``path`` as a requirement names it relative to the project root: ``.``, ``./lib``, ``../other``."""
    rel = os.path.relpath(path, root)
    return "." if rel == "." else rel if rel.startswith("..") else f"./{rel}"
