"""``.gitignore`` semantics without git, for projects that are not a git checkout.

What gitignore(5) says, implemented: blank lines and ``#`` comments; ``\\`` escapes (``\\#``, ``\\!``,
``\\ ``); trailing spaces dropped; ``!`` re-includes; a trailing ``/`` matches directories only; a
pattern with a ``/`` before its end is anchored to its ``.gitignore``'s directory, one without matches
a name at any depth; ``*``, ``?``, ``[...]`` never match ``/``; ``**/``, ``/**/`` and ``/**`` span
directories; a deeper ``.gitignore`` overrides a shallower one and, within a file, the last matching
line wins. A file inside an ignored directory cannot be re-included (the walk does not enter it).

Each pattern becomes one compiled regex; rules are read once per directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IgnoreRules", "Rule", "parse_gitignore"]


@dataclass(frozen=True)
class Rule:
    #: directory of the ``.gitignore`` holding the rule, relative to the root ("" = the root)
    base: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    #: matched against the path below ``base``; otherwise against the name alone
    anchored: bool


def _char_class(pattern: str, start: int) -> tuple[str, int] | None:
    """``[...]`` at ``start`` as a regex class and the index after it, or None (no closing bracket)."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    body = []
    if i < len(pattern) and pattern[i] == "]":
        body.append("\\]")
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        body.append("\\" + char if char in "\\^[]" else char)
        i += 1
    if i >= len(pattern):
        return None
    return f"[{'^' if negate else ''}{''.join(body)}]", i + 1


def _translate(pattern: str) -> str:
    """A gitignore glob (without ``!``, leading or trailing ``/``) as a regex over ``/``-separated paths."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
            end = i + 2
            if end == len(pattern):  # trailing "/**" (or a lone "**"): everything below
                out.append(".*")
                i = end
                continue
            if pattern[end] == "/":  # "**/" leading or in the middle: zero or more directories
                out.append("(?:.*/)?")
                i = end + 1
                continue
        if char == "*":
            while i < len(pattern) and pattern[i] == "*":
                i += 1  # other runs of asterisks are one ordinary asterisk
            out.append("[^/]*")
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[" and (klass := _char_class(pattern, i)) is not None:
            out.append(klass[0])
            i = klass[1]
            continue
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


_TRAILING_SPACES = re.compile(r"(?<!\\) +$")


def parse_gitignore(text: str, base: str = "") -> list[Rule]:
    """The rules of one ``.gitignore`` in directory ``base`` (relative to the root), in file order."""
    rules = []
    for raw in text.splitlines():
        line = _TRAILING_SPACES.sub("", raw.rstrip("\r"))
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        dir_only = line.endswith("/") and not line.endswith("\\/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        regex = re.compile(_translate(line.removeprefix("/")), re.DOTALL)
        rules.append(Rule(base, regex, negate, dir_only, anchored))
    return rules


class IgnoreRules:
    """Every ``.gitignore`` of a tree, read lazily once per directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_dir: dict[str, tuple[Rule, ...]] = {}

    def rules_for(self, rel_dir: str) -> tuple[Rule, ...]:
        """The rules that apply inside ``rel_dir`` ("" = the root): its ancestors' first, its own last."""
        if rel_dir in self._by_dir:
            return self._by_dir[rel_dir]
        parent = self.rules_for(rel_dir.rpartition("/")[0]) if rel_dir else ()
        path = self.root / rel_dir / ".gitignore"
        try:
            own = parse_gitignore(path.read_text(encoding="utf-8", errors="replace"), rel_dir)
        except OSError:
            own = []
        self._by_dir[rel_dir] = (*parent, *own)
        return self._by_dir[rel_dir]

    def decide(self, rel: str, *, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included by a ``!`` line; None: no line matches ``rel``."""
        rel_dir, _, name = rel.rpartition("/")
        for rule in reversed(self.rules_for(rel_dir)):
            if rule.dir_only and not is_dir:
                continue
            below = rel[len(rule.base) + 1 :] if rule.base else rel
            if rule.regex.fullmatch(below if rule.anchored else name):
                return not rule.negate
        return None
