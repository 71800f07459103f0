"""tox 4 factor semantics: brace products, numeric ranges, conditional lines, env name -> python request.

This is a port of ``tox.config.loader.ini.factor`` (and the name parsing of ``tox.tox_env.python.api``) so
that a tox project expands to the same environment names and the same filtered values under nixtox.
"""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import chain, groupby, product
from typing import Final

__all__ = [
    "FactorGroups",
    "active_factors",
    "expand_env_names",
    "expand_factors",
    "expand_ranges",
    "filter_for_env",
    "find_envs",
    "has_condition",
    "interpreter_request",
    "is_python_factor",
    "matches",
    "open_minor_range",
    "python_conflicts",
]

#: lowest / highest CPython 3 minor used for open ranges (``py3{-13}``, ``py3{11-}``), as tox 4 does.
LATEST_PYTHON_MINOR_MIN: Final = 11
LATEST_PYTHON_MINOR_MAX: Final = 15

#: a condition: OR over groups, each group an AND over (factor, negated) pairs.
FactorGroups = list[list[tuple[str, bool]]]

_KNOWN_ARCHITECTURES: Final = frozenset(
    {"arm64", "loongarch64", "ppc", "ppc64", "ppc64le", "riscv64", "s390x", "x86", "x86_64"}
)
_ISA_ALIASES: Final = {
    "amd64": "x86_64",
    "aarch64": "arm64",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "powerpc": "ppc",
}

_EXPAND_RANGES: Final = re.compile(
    r"""
    (?P<src>
        (?<![\w.-])
        (?: (?P<start>\d+)-(?P<end>\d+) | (?P<open_start>\d+)- )
        | (?<=[{,])-(?P<open_end>\d+)
        | \d+
    )
    (?:,|\})
    """,
    re.VERBOSE,
)
_ENV_WITH_NEGATION: Final = re.compile(r"((?:\{[^}]+\})+)|,")
_ELEMENTS: Final = re.compile(r"\{([^}]+)\}")
_MARKER: Final = re.compile(r":(\s|$)")
_FACTOR: Final = re.compile(r"(?:!?(?:\[!?|[\w.*?\]])(?:\[!?|[\w.*?\]-])*|^$)")


def open_minor_range(start: int | None = None, stop: int | None = None) -> list[int]:
    first = LATEST_PYTHON_MINOR_MIN if start is None else start
    last = LATEST_PYTHON_MINOR_MAX if stop is None else stop
    return list(range(first, last + 1)) or [last if start is None else first]


def expand_ranges(value: str) -> str:
    """``{10-13}`` -> ``{10,11,12,13}``, ``{13-10}`` descends, ``{11-}``/``{-13}`` are open (tox 4)."""

    def _expand(match: re.Match[str]) -> str:
        start, end, open_start, open_end = match.group("start", "end", "open_start", "open_end")
        delimiter = match.group()[-1]
        if start and end:
            low, high = int(start), int(end)
            step = 1 if low < high else -1
            numbers: Iterable[int] = range(low, high + step, step)
        elif open_start:
            numbers = open_minor_range(start=int(open_start))
        elif open_end:
            numbers = open_minor_range(stop=int(open_end))
        else:
            return match.group()
        return ",".join(map(str, numbers)) + delimiter

    return _EXPAND_RANGES.sub(_expand, value)


def _expand_with_negation(value: str) -> Iterator[str]:
    for is_part, group in groupby(_ENV_WITH_NEGATION.split(value), key=bool):
        if not is_part:
            continue
        elements = _ELEMENTS.split("".join(g for g in group if g).strip())
        for variant in product(*[[i.strip() for i in elem.split(",")] for elem in elements]):
            name = "".join(variant)
            if not all(_FACTOR.fullmatch(i) for i in name.split("-")):
                raise ValueError(name)
            yield name


def _factor_groups(value: str) -> Iterator[list[tuple[str, bool]]]:
    for env in _expand_with_negation(expand_ranges(value)):
        yield [(f[1:], True) if f.startswith("!") else (f, False) for f in env.split("-")]


def expand_env_names(value: str) -> list[str]:
    """Expand one env-list expression (``py3{11,12}-{a,b}, lint``) into names, first seen order, no dups.

    Raises ``ValueError`` (with the offending name) when a piece is not a valid env name.
    """
    names: dict[str, None] = {}
    for line in value.split("\n"):
        for group in _factor_groups(line):
            name = "-".join(f for f, _ in group)
            if name:
                names.setdefault(name)
    return list(names)


def expand_factors(value: str) -> Iterator[tuple[FactorGroups | None, str]]:
    """Split a value into lines, each with its condition (None: unconditional) and content."""
    for line in value.split("\n"):
        factors: FactorGroups | None = None
        content = line
        marker = _MARKER.search(line)
        if marker is not None:
            try:
                factors = list(_factor_groups(line[: marker.start()].strip()))
            except ValueError:
                factors = None  # not a condition: keep the whole line (tox does the same)
            else:
                content = line[marker.start() + 1 :].strip()
        yield factors, content


def has_condition(line: str) -> bool:
    return next(expand_factors(line))[0] is not None


def _machine_isa() -> str:
    machine = platform.machine().lower()
    return _ISA_ALIASES.get(machine, machine)


def active_factors(env_name: str | None) -> set[str]:
    """The factors that hold for an env: those of its name, plus ``sys.platform`` and the machine ISA."""
    env_factors: set[str] = set()
    if env_name is not None:
        try:
            env_factors = {f for group in _factor_groups(env_name) for f, _ in group}
        except ValueError:
            env_factors = set(env_name.split("-"))
    current = set(env_factors)
    current.add(sys.platform)
    isa = _machine_isa()
    if (
        isa
        and not (env_factors & _KNOWN_ARCHITECTURES)
        and isa not in {_ISA_ALIASES.get(f, f) for f in env_factors}
    ):
        current.add(isa)
    return current


def matches(groups: FactorGroups, current: set[str]) -> bool:
    """OR over groups, AND within a group, ``!`` negates one factor."""
    return any(all((name in current) ^ negated for name, negated in group) for group in groups)


def filter_for_env(value: str, env_name: str | None) -> str:
    """Keep the lines of ``value`` whose condition holds for ``env_name`` (tox 4 ``filter_for_env``).

    A line ending in a backslash carries its condition over to the line that continues it.
    """
    current = active_factors(env_name)
    kept: list[str] = []
    active_continuation = False
    pending_skip = False
    for factors, content in expand_factors(value):
        if factors is None:
            if pending_skip and not active_continuation and not content.endswith("\\"):
                pending_skip = False
                continue
            if content:
                kept.append(content)
            active_continuation = content.endswith("\\") if content else active_continuation
            pending_skip = False
        elif matches(factors, current):
            kept.append(content)
            active_continuation = content.endswith("\\")
            pending_skip = False
        else:
            pending_skip = content.endswith("\\")
    return "\n".join(kept)


def find_envs(value: str) -> Iterator[str]:
    """Env names spelled by the conditions of a value (``py311-a: x`` -> ``py311-a``), first seen order."""
    seen: set[str] = set()
    for factors, _ in expand_factors(value):
        for group in factors or []:
            name = "-".join(f for f, _ in group)
            if name not in seen:
                seen.add(name)
                yield name


# --- env name -> interpreter request (tox.tox_env.python.api) -----------------------------------------

_PY_FACTOR: Final = re.compile(
    r"^(?!py$)(?P<impl>py|pypy|cpython|jython|graalpy|rustpython|ironpython)"
    r"(?:(?P<version>[2-9]\.?[0-9]?[0-9]?)(?P<threaded>t?)(?P<debug>d?))?$"
)
_PY_EXPLICIT: Final = re.compile(
    r"^((?P<impl>cpython|pypy)-)?(?P<version>[23]\.[0-9]+)(?P<threaded>t?)(?P<debug>d?)$"
)
#: factors an ad-hoc ``-e`` name may use without being declared (tox's dynamic env factors).
_DYNAMIC: Final = re.compile(
    r"(?:pypy|py|cpython|jython|graalpy|rustpython|ironpython|)(?:(?:\d(?:\.\d+(?:\.\d+)?)?|\d+)t?d?)?"
)
_PRE_RELEASE: Final = re.compile(r"alpha|beta|rc\.\d+")


def is_python_factor(factor: str) -> bool:
    """True for factors an ad-hoc env name may contain without declaring them (``py312``, ``3.12``)."""
    return bool(factor) and bool(_DYNAMIC.fullmatch(factor) or _PRE_RELEASE.fullmatch(factor))


def interpreter_request(env_name: str) -> str | None:
    """The python an env name asks for (``py312-django`` -> ``py312``), None when it names none.

    Raises ``ValueError`` when the name holds two python factors (``py311-py312``).
    """
    candidates: list[str] = []
    factors = env_name.split("-")
    index = 0
    while index < len(factors):
        factor = factors[index]
        index += 1
        pair = f"{factor}-{factors[index]}" if index < len(factors) else ""
        if match := _PY_EXPLICIT.match(pair):
            candidates.append(_explicit(match))
            index += 1
        elif _PY_FACTOR.match(factor):
            candidates.append(factor)
        elif match := _PY_EXPLICIT.match(factor):
            candidates.append(_explicit(match))
    if len(candidates) > 1:
        msg = f"conflicting factors {', '.join(candidates)} in {env_name}"
        raise ValueError(msg)
    return candidates[0] if candidates else None


def _explicit(match: re.Match[str]) -> str:
    impl = "pypy" if match["impl"] == "pypy" else ""
    return f"{impl}{match['version']}{match['threaded']}{match['debug']}"


_SPEC: Final = re.compile(
    r"^(?P<impl>[a-zA-Z]+?)?(?P<version>\d(?:\.?\d+)?(?:\.\d+)?)?(?P<threaded>t?)(?:-(?P<arch>32|64))?$"
)


def _parse_spec(spec: str) -> tuple[str | None, tuple[int, ...], bool] | None:
    """``py312`` / ``python3.12`` / ``pypy3.10`` / ``3.12t`` -> (implementation, version, free-threaded)."""
    if "/" in spec or "\\" in spec:
        return None  # a path: we cannot know without running it
    match = _SPEC.match(spec)
    if match is None:
        return None
    impl = (match["impl"] or "").lower()
    impl_name: str | None = {"py": None, "python": None, "": None, "cpython": "cpython"}.get(impl, impl)
    raw = match["version"] or ""
    if "." in raw:
        version = tuple(int(p) for p in raw.split(".") if p)
    elif raw:
        version = (int(raw[0]), int(raw[1:])) if len(raw) > 1 else (int(raw),)
    else:
        version = ()
    return impl_name, version, bool(match["threaded"])


def python_conflicts(env_request: str, base_python: str) -> bool:
    """True when ``base_python`` cannot satisfy what the env name asks for (tox's conflict rule)."""
    wanted = _parse_spec(env_request)
    have = _parse_spec(base_python)
    if wanted is None or have is None:
        return False
    w_impl, w_version, w_threaded = wanted
    h_impl, h_version, h_threaded = have
    if (
        w_impl is not None
        and w_impl != (h_impl or "cpython")
        and not (w_impl == "cpython" and h_impl is None)
    ):
        return True
    if any(h_version[i : i + 1] != w_version[i : i + 1] for i in range(len(w_version))):
        return True
    return w_threaded != h_threaded and (w_threaded or bool(w_version))


def all_factors(names: Iterable[str]) -> set[str]:
    return set(chain.from_iterable(name.split("-") for name in names))
