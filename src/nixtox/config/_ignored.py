"""One warning per key nixtox deliberately does not act on, when a config sets it (not one per env).

The reason is the key's ``ignored`` text (``_keys.py``); a few keys warn only for some values: a
``runner`` nixtox builds anyway, ``download``/``uv_seed``/``interrupt_post_commands`` when false,
``requires`` naming only what nixtox needs no provisioning for, ``run_in = host``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from ._keys import CORE_KEYS, ENV_KEYS, Key
from ._resolve import Resolver, Resolvers

__all__ = ["ignored_key_warnings"]

#: runners whose envs nixtox builds (a virtual environment with the locked wheels; the lock runner's
#: pins come from uv.lock)
BUILT_RUNNERS: Final = frozenset({"", "virtualenv", "uv-venv-runner", "uv-venv-lock-runner"})
#: ``requires`` entries that need no provisioning under nixtox
PROVISIONED: Final = frozenset({"tox", "tox-uv", "tox-uv-bare", "virtualenv", "uv"})
_NAME: Final = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalized(requirement: str) -> str:
    match = _NAME.match(requirement)
    return re.sub(r"[-_.]+", "-", match[1]).lower() if match else requirement.strip()


def _true(value: object) -> str | None:
    return "true" if value is True else None


def _requires(value: object) -> str | None:
    extra = [str(r).strip() for r in value if _normalized(str(r)) not in PROVISIONED]  # type: ignore[attr-defined]
    return ", ".join(extra) or None


#: key -> what of its value warns (None: nothing); keys not here warn whenever they are set
_WHICH: Final[dict[str, Callable[[object], str | None]]] = {
    "runner": lambda v: None if str(v) in BUILT_RUNNERS else str(v),
    "download": _true,
    "uv_seed": _true,
    "interrupt_post_commands": _true,
    "run_in": lambda v: None if str(v) in ("", "host") else str(v),
    "requires": _requires,
}


def _noted(res: Resolver, key: Key) -> str | None:
    """What this config sets for ``key`` that nixtox ignores (None: unset, or a value that is fine)."""
    if not res.is_set(key.name):
        return None
    value = res.get(key.name)
    which = _WHICH.get(key.name)
    return "" if which is None else which(value)


def ignored_key_warnings(resolvers: Resolvers, env_names: Iterable[str]) -> tuple[str, ...]:
    """``label: KEY is not used: WHY`` (``KEY = VALUE`` for the keys where only some values warn), once
    per key however many envs set it, in declaration order."""
    found: dict[str, dict[str, None]] = {}
    checks: list[tuple[Resolver, tuple[Key, ...]]] = [(resolvers(None), CORE_KEYS)]
    checks += [(resolvers(name), ENV_KEYS) for name in env_names]
    for res, keys in checks:
        for key in keys:
            if key.ignored and (value := _noted(res, key)) is not None:
                found.setdefault(key.name, {})[value] = None
    label = resolvers.raw.label
    order = [key.name for key in (*CORE_KEYS, *ENV_KEYS) if key.name in found]
    reasons = {key.name: key.ignored for key in (*CORE_KEYS, *ENV_KEYS) if key.ignored}
    out = []
    for name in dict.fromkeys(order):
        values = "; ".join(v for v in found[name] if v)
        said = f"{name} = {values}" if values else name
        out.append(f"{label}: {said} is not used: {reasons[name]}")
    return tuple(out)
