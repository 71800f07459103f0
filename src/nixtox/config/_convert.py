"""Turn a substituted raw value (ini text or a TOML value) into the Python value of a key's kind.

Every function raises ``ValueError`` with a short reason; the caller adds file, section and key.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from io import StringIO
from itertools import product
from pathlib import Path
from typing import cast

from nixtox.model import Command

from ._factors import expand_env_names, open_minor_range
from ._keys import Kind

__all__ = ["command_from_argv", "convert", "parse_command"]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    norm = str(value).strip().lower()
    if norm in _TRUE:
        return True
    if norm in _FALSE:
        return False
    msg = f"{value!r} is not a boolean (use true or false)"
    raise ValueError(msg)


def _split_list(text: str) -> list[str]:
    splitter = "\n" if "\n" in text else ","
    return [item.strip() for item in text.split(splitter) if item.strip()]


def _strings(value: object) -> Iterator[str]:
    """A TOML list (possibly nested by ``extend``-less replacements) or ini text, as strings."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list):
                yield from _strings(item)
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                yield str(item)
            else:
                msg = f"expected a list of strings, found {item!r}"
                raise ValueError(msg)
    else:
        msg = f"expected a string or a list of strings, found {value!r}"
        raise ValueError(msg)


def parse_command(line: str) -> Command:
    """One ini command line, tox style: shlex split, a leading ``-``/``!`` marks the exit code handling."""
    splitter = shlex.shlex(line, posix=True)
    splitter.whitespace_split = True
    splitter.commenters = ""
    args: list[str] = []
    pos = 0
    try:
        for arg in splitter:
            args.append(arg)
            pos = cast("StringIO", splitter.instream).tell()
    except ValueError:
        args.append(line[pos:].strip())  # unbalanced quotes: tox keeps the rest of the line as one argument
    if not args:
        msg = f"cannot parse {line!r} into a command"
        raise ValueError(msg)
    if args[0] != "-" and args[0].startswith("-"):
        args = ["-", args[0][1:], *args[1:]]
    return command_from_argv(args)


def command_from_argv(args: list[str]) -> Command:
    if args and args[0] in {"-", "!"}:
        if len(args) == 1:
            msg = f"command {args[0]!r} has nothing to run"
            raise ValueError(msg)
        return Command(tuple(args[1:]), ignore_exit_code=args[0] == "-", invert_exit_code=args[0] == "!")
    return Command(tuple(args))


def _commands(value: object) -> tuple[Command, ...]:
    if isinstance(value, str):
        return tuple(parse_command(line) for line in value.split("\n") if line.strip())
    if not isinstance(value, list):
        msg = f"expected a list of commands, found {value!r}"
        raise ValueError(msg)
    out: list[Command] = []
    for item in value:
        if isinstance(item, str):
            if item.strip():
                out.append(parse_command(item))
        else:
            argv = list(_strings(item))
            if argv:
                out.append(command_from_argv(argv))
    return tuple(out)


def _dict(value: object, root: Path) -> tuple[tuple[str, str], ...]:
    if isinstance(value, dict):
        return tuple((str(k), _scalar(v)) for k, v in value.items())
    if isinstance(value, list):
        value = "\n".join(_strings(value))
    if not isinstance(value, str):
        msg = f"expected KEY = value lines or a table, found {value!r}"
        raise ValueError(msg)
    out: dict[str, str] = {}
    for row in value.split("\n"):
        if not row.strip():
            continue
        if row.strip().startswith("file|"):
            out.update(_dotenv(root / row.strip()[5:].strip()))
            continue
        key, sep, val = row.partition("=")
        if not sep or not key.strip():
            msg = f"line {row.strip()!r} is not of the form KEY = value"
            raise ValueError(msg)
        out[key.strip()] = val.strip()
    return tuple(out.items())


def _dotenv(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read env file {path}: {exc.__class__.__name__}"
        raise ValueError(msg) from exc
    pairs = (line.partition("=") for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {k.strip(): v.strip() for k, sep, v in pairs if sep}


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    msg = f"expected a string, found {value!r}"
    raise ValueError(msg)


def _range(table: dict[str, object]) -> list[str]:
    start, stop = table.get("start"), table.get("stop")
    if (start is None and stop is None) or any(v is not None and type(v) is not int for v in (start, stop)):
        msg = f"range {table!r} needs integer start and/or stop"
        raise ValueError(msg)
    low, high = cast("int | None", start), cast("int | None", stop)
    minors = open_minor_range(low, high) if low is None or high is None else range(low, high + 1)
    return [f"{table['prefix']}{i}" for i in minors]


def factor_group(group: object) -> list[str]:
    """One factor group of a TOML product: a list, a range table or a labeled group."""
    if isinstance(group, list):
        return list(_strings(group))
    if isinstance(group, dict) and "prefix" in group:
        return _range(group)
    if (
        isinstance(group, dict) and len(group) == 1
    ):  # labeled group: {name = [...] | {values = [...]} | range}
        inner = next(iter(group.values()))
        if isinstance(inner, dict):
            return _range(inner) if "prefix" in inner else list(_strings(inner.get("values")))
        return list(_strings(inner))
    msg = f"factor group must be a list or a range table, found {group!r}"
    raise ValueError(msg)


def _product(table: dict[str, object]) -> list[str]:
    """tox.toml ``{product = [[...], {prefix, start, stop}], exclude = [...]}``."""
    groups = table["product"]
    if not isinstance(groups, list):
        msg = f"product must be a list of factor groups, found {groups!r}"
        raise ValueError(msg)
    if not groups:
        return []
    exclude = set(_strings(table.get("exclude", [])))
    names = ("-".join(combo) for combo in product(*(factor_group(g) for g in groups)))
    return [name for name in names if name not in exclude]


def _env_list(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        items: list[str] = []
        for entry in value:
            if isinstance(entry, dict) and "product" in entry:
                items.extend(_product(entry))
            else:
                items.extend(_strings([entry]))
    else:
        items = [value] if isinstance(value, str) else list(_strings(value))
    names: dict[str, None] = {}
    for item in items:
        try:
            names.update(dict.fromkeys(expand_env_names(item)))
        except ValueError as exc:
            msg = f"invalid environment name {exc.args[0]!r} in {item.strip()!r} (unbalanced braces?)"
            raise ValueError(msg) from None
    return tuple(names)


def _labels(value: object) -> dict[str, tuple[str, ...]]:
    if isinstance(value, dict):
        return {str(k): _env_list(v) for k, v in value.items()}
    if not isinstance(value, str):
        msg = f"expected LABEL = envs lines or a table, found {value!r}"
        raise ValueError(msg)
    out: dict[str, tuple[str, ...]] = {}
    for row in value.split("\n"):
        if not row.strip():
            continue
        key, sep, val = row.partition("=")
        if not sep or not key.strip():
            msg = f"line {row.strip()!r} is not of the form LABEL = env, env"
            raise ValueError(msg)
        out[key.strip()] = _env_list(val)
    return out


def convert(kind: Kind, value: object, root: Path) -> object:  # noqa: PLR0911 - one branch per kind
    """Convert ``value`` to the Python value of ``kind`` (tuples for sequences)."""
    if kind == "commands":
        return _commands(value)
    if kind == "dict":
        return _dict(value, root)
    if kind == "env_list":
        return _env_list(value)
    if kind == "labels":
        return _labels(value)
    if kind in {"list", "lines", "words"}:
        if not isinstance(value, str):
            return tuple(s.strip() for s in _strings(value) if s.strip())
        if kind == "lines":
            return tuple(line.strip() for line in value.split("\n") if line.strip())
        if kind == "words":
            return tuple(w for w in re.split(r"[\s,]+", value) if w)
        return tuple(_split_list(value))
    if kind == "bool":
        return to_bool(value)
    text = _scalar(value).strip()
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "path":
        return root / text if text else root
    return text
