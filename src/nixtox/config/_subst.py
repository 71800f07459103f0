"""tox's ``{...}`` substitutions in a string.

``{posargs[:default]}``, ``{env:NAME[:default]}``, ``{tty:on[:off]}``, ``{glob:pattern[:default]}``,
``{/}``, ``{:}``, ``{[section]key}`` and ``{name}`` (a key of the env or of the core section, or a
constant such as ``{env_name}``). ``\\{``, ``\\}``, ``\\:``, ``\\[`` and ``\\]`` are literal characters; an
unknown name or an unmatched brace stays in the text as written (tox 4 does the same).
"""

from __future__ import annotations

import glob
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Substitutions", "paths_relative_to", "substitute"]

_ESCAPABLE = ":{}[]"


@dataclass(frozen=True)
class _Expr:
    args: tuple[tuple[str | _Expr, ...], ...]


_Part = str | _Expr


class _Unterminated(Exception):
    pass


_MAX_NESTING = 64


def _parse(value: str, pos: int, *, in_braces: bool, depth: int = 0) -> tuple[list[list[_Part]], int]:
    args: list[list[_Part]] = []
    current: list[_Part] = []
    while pos < len(value):
        char = value[pos]
        if char == "\\" and pos + 1 < len(value) and value[pos + 1] in _ESCAPABLE:
            current.append(value[pos + 1])
            pos += 2
            continue
        if char == "\\" and value.startswith("\\\\", pos):
            current.append("\\\\")
            pos += 2
            continue
        if in_braces and char == "}":
            args.append(current)
            return args, pos + 1
        if in_braces and char == ":":
            args.append(current)
            current = []
            pos += 1
            continue
        if value.startswith("[]", pos):  # tox 3 spelling of {posargs}
            current.append(_Expr((("posargs",),)))
            pos += 2
            continue
        if char == "{" and depth < _MAX_NESTING:
            try:
                inner, end = _parse(value, pos + 1, in_braces=True, depth=depth + 1)
            except _Unterminated:
                current.append(char)
                pos += 1
                continue
            current.append(_Expr(tuple(tuple(a) for a in inner)))
            pos = end
            continue
        current.append(char)
        pos += 1
    if in_braces:
        raise _Unterminated
    args.append(current)
    return args, pos


@dataclass
class Substitutions:
    """What the ``{...}`` names resolve to for one env (or for the core section when env_name is None)."""

    root: Path
    posargs: Sequence[str] | None
    #: ``{name}`` / ``{[section]key}`` -> text, None when the name is unknown (kept literally)
    reference: Callable[[str], str | None]
    #: ``{env:NAME}``: the env's set_env first, then the process environment
    environ: Callable[[str], str | None]
    #: True while substituting a command line: ``{posargs}`` is shell-quoted
    quote_posargs: bool = True

    def expand(self, value: str) -> str:
        args, _ = _parse(value, 0, in_braces=False)
        return "".join(self._render(part) for part in args[0])

    def _render_arg(self, arg: Sequence[_Part]) -> str:
        return "".join(self._render(part) for part in arg)

    def _render(self, part: _Part) -> str:  # noqa: PLR0911 - one branch per substitution kind
        if isinstance(part, str):
            return part
        args = [self._render_arg(a) for a in part.args]
        kind, rest = args[0], args[1:]
        if kind == "/" and not rest:
            return os.sep
        if kind == "" and rest == [""]:
            return os.pathsep
        if kind == "posargs":
            if self.posargs is not None:
                return shlex.join(self.posargs) if self.quote_posargs else " ".join(self.posargs)
            return ":".join(rest)
        if kind == "env" and rest:
            found = self.environ(rest[0])
            return found if found is not None else ":".join(rest[1:])
        if kind == "tty" and rest:
            return rest[0] if sys.stdout.isatty() else (rest[1] if len(rest) > 1 else "")
        if kind == "factor":
            msg = "{factor:LABEL} substitutions (tox's labeled factor groups) are not supported by nixtox"
            raise ValueError(msg)
        if kind == "glob" and rest:
            pattern = rest[0] if os.path.isabs(rest[0]) else str(self.root / rest[0])
            matched = sorted(glob.glob(pattern, recursive=True))
            return " ".join(matched) if matched else ":".join(rest[1:])
        found = self.reference(":".join(args))
        return found if found is not None else "{" + ":".join(args) + "}"


def substitute(value: str, subs: Substitutions) -> str:
    return subs.expand(value)


def paths_relative_to(args: Sequence[str], directory: Path, cwd: Path) -> tuple[str, ...]:
    """tox's ``args_are_paths``: each positional argument that names an existing relative path (from
    ``cwd``) is rewritten relative to ``directory`` (the env's change_dir), so ``nixtox run --
    tests/test_a.py`` still names that file when the commands run elsewhere. A bare first argument that is
    an executable file stays as it is (it may be run as a program)."""
    if cwd == directory:
        return tuple(args)
    target = os.path.realpath(directory)
    out = []
    for index, arg in enumerate(args):
        path = cwd / arg if arg else None
        if path is None or os.path.isabs(arg) or not _exists(path):
            out.append(arg)
            continue
        if index == 0 and Path(arg).name == arg and path.is_file() and os.access(path, os.X_OK):
            out.append(arg)
            continue
        relative = os.path.relpath(os.path.abspath(path), target)
        out.append(
            f"{os.curdir}{os.sep}{relative}"
            if relative.startswith("-") and not arg.startswith("-")
            else relative
        )
    return tuple(out)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False
