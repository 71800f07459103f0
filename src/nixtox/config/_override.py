"""``-x/--override KEY=VALUE`` (and ``TOX_OVERRIDE``): config values given on the command line, as tox's.

``[SECTION.]KEY=VALUE`` replaces the value ``SECTION`` sets (or gives it one), ``KEY+=VALUE`` appends to
a list or table key: to the section's value, or to the one it inherits when it sets none. SECTION is
named as tox names it, in either format's spelling:

==================  ==================  ================
                    tox.ini             TOML
==================  ==================  ================
core                ``tox``             (none)
every env           ``testenv``         ``env_run_base``
one env             ``testenv:NAME``    ``env.NAME``
a packagedef        ``packagedef:NAME`` ``packagedef.NAME``
==================  ==================  ================

A dot inside a name is written ``\\.`` (``env.py3\\.12.deps+=x``). The value is text, as an ini value:
substitutions apply, lists are one item per line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from nixtox.errors import ConfigError

__all__ = ["ENV_VARS", "Override", "environ_overrides", "layered", "merge_values", "override_error"]

Found = TypeVar("Found")

#: environment variables holding overrides, ``;``-separated as tox reads ``TOX_OVERRIDE``; they apply
#: before the ``-x`` options
ENV_VARS: Final = ("NIXTOX_OVERRIDE", "TOX_OVERRIDE")

_CORE: Final = frozenset({"", "tox", "tox:tox"})
_BASE: Final = frozenset({"testenv", "env_run_base"})


def _split_on_unescaped_dot(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("\\.", index):
            current.append(".")
            index += 2
            continue
        if text[index] == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(text[index])
        index += 1
    parts.append("".join(current))
    return parts


@dataclass(frozen=True)
class Override:
    """One ``[namespace.]key[+]=value``."""

    namespace: str
    key: str
    value: str
    append: bool = False

    @classmethod
    def parse(cls, text: str) -> Override:
        """Raise ValueError (tox's words) when ``text`` is not ``KEY=VALUE``."""
        target, equal, value = text.partition("=")
        if not equal:
            msg = f"override {text} has no = sign in it"
            raise ValueError(msg)
        append = target.endswith("+")
        parts = _split_on_unescaped_dot(target.removesuffix("+").strip())
        key = parts[-1].strip()
        if not key:
            msg = f"override {text} names no key"
            raise ValueError(msg)
        return cls(".".join(parts[:-1]).strip(), key, value, append)

    def __str__(self) -> str:
        prefix = f"{self.namespace}." if self.namespace else ""
        return f"{prefix}{self.key}{'+' if self.append else ''}={self.value}"

    # --- which section it names ---------------------------------------------------------------------

    @property
    def is_core(self) -> bool:
        return self.namespace in _CORE

    @property
    def is_base(self) -> bool:
        return self.namespace in _BASE

    def names_env(self, env_name: str) -> bool:
        return self.namespace in (f"testenv:{env_name}", f"env.{env_name}")

    def names_packagedef(self, name: str) -> bool:
        return self.namespace in (f"packagedef:{name}", f"packagedef.{name}")

    @property
    def section_kind(self) -> str | None:
        """ "core", "env" (base or one env), "packagedef", or None when the namespace names no section."""
        if self.is_core:
            return "core"
        if self.is_base or self.namespace.startswith(("testenv:", "env.")):
            return "env"
        if self.namespace.startswith(("packagedef:", "packagedef.")):
            return "packagedef"
        return None


def environ_overrides(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The overrides of ``NIXTOX_OVERRIDE`` and ``TOX_OVERRIDE`` (``;``-separated), unparsed."""
    source = os.environ if environ is None else environ
    return tuple(part for name in ENV_VARS for part in source.get(name, "").split(";") if part.strip())


def merge_values(current: object, extra: object) -> object:
    """``+=``: ``extra`` appended to ``current`` (sequences concatenate, tables merge, later wins)."""
    if isinstance(current, dict) and isinstance(extra, dict):
        return {**current, **extra}
    if isinstance(current, tuple) and isinstance(extra, tuple):
        if _pairs(current) and _pairs(extra):
            return tuple({**dict(current), **dict(extra)}.items())
        return current + extra
    msg = "+= appends only to list and table keys; use = to replace the value"
    raise ValueError(msg)


def _pairs(value: Sequence[object]) -> bool:
    return all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in value)


def override_error(override: Override, reason: str) -> ConfigError:
    return ConfigError(f"override -x {override}: {reason}")


def layered(
    layers: Sequence[tuple[Found | None, Sequence[Override]]],
    read: Callable[[Found], Any],
    given: Callable[[Override], Any],
    default: Callable[[], Any],
) -> Any:
    """One key's value in tox's order, from ``layers`` (most specific first: what the layer's section
    holds for the key, or None, and the layer's overrides of the key). The first layer that sets the key
    (in its section, or by a ``=`` override) gives the value, its own overrides applied in order; the
    ``+=`` overrides of the more specific layers that set nothing are appended to it afterwards (the most
    specific last). ``read`` converts a section's value, ``given`` an override's text."""
    pending: list[Sequence[Override]] = []
    for found, mine in layers:
        if found is None and all(o.append for o in mine):
            pending.append(mine)
            continue
        value = read(found) if found is not None else None
        for override in mine:
            extra = given(override)
            value = _merged(override, value, extra) if override.append and value is not None else extra
        break
    else:
        value = default()
    for appends in reversed(pending):
        for override in appends:
            value = _merged(override, value, given(override))
    return value


def _merged(override: Override, current: object, extra: object) -> object:
    try:
        return merge_values(current, extra)
    except ValueError as exc:
        raise override_error(override, str(exc)) from None
