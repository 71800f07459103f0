"""Markers and ``requires-python`` evaluated for one interpreter, and whether they tell its patch releases
apart.

A lock made on CPython 3.11.7 holds on 3.11.2 unless something the selection evaluated gives another
answer on another 3.11 release: a ``python_full_version`` (or CPython's ``implementation_version``)
comparison with a patch-level bound, or such a ``requires-python``. ``patch_sensitive`` answers that by
evaluating each one on every patch release that could matter (every bound's patch, its neighbours, and
one past the highest): comparisons are piecewise constant between bounds, so those samples cover all of
``M.m.*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from functools import lru_cache

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from nixtox.errors import LockError
from nixtox.model import Interpreter

__all__ = ["evaluate_marker", "patch_sensitive", "python_allows"]

_LITERAL = re.compile(r"""['"]\s*([^'"]*?)\s*['"]""")
_VERSION_LITERAL = re.compile(r"[0-9][0-9A-Za-z.*+!-]*")
_PATCH_VARIABLES = ("python_full_version", "implementation_version")


@lru_cache(maxsize=4096)
def _marker(text: str) -> Marker:
    return Marker(text)


def evaluate_marker(
    marker: str | None,
    interpreter: Interpreter,
    *,
    where: str,
    extras: Set[str] = frozenset(),
    groups: Set[str] = frozenset(),
    lock_file: bool = False,
) -> bool:
    """Whether ``marker`` holds for the interpreter (PEP 751 ``extras``/``dependency_groups`` with
    ``lock_file``). A marker that cannot be evaluated is a LockError naming ``where``."""
    if not marker:
        return True
    if not interpreter.marker_env:
        # packaging would fill the gaps from the Python running nixtox: another interpreter's answer
        raise LockError(f"{where}: the marker environment of {interpreter.executable} is unknown")
    env: dict[str, str | Set[str]] = dict(interpreter.marker_env)
    if lock_file:
        env.update(extras=frozenset(extras), dependency_groups=frozenset(groups))
    try:
        parsed = _marker(marker)
        if lock_file:
            return parsed.evaluate(env, context="lock_file")
        return parsed.evaluate(env)
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, TypeError) as exc:
        raise LockError(f"{where}: cannot evaluate the marker {marker!r}: {exc}") from None


def python_allows(specifier: str | None, version: str, *, where: str) -> bool:
    """Whether a ``requires-python`` specifier admits ``version``."""
    if not specifier:
        return True
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        raise LockError(f"{where}: requires-python {specifier!r} is not a version specifier") from None


def _release(interpreter: Interpreter) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a final release, None for a pre-release (which pins its full version)."""
    full = dict(interpreter.marker_env).get("python_full_version") or ".".join(map(str, interpreter.version))
    try:
        version = Version(full)
    except InvalidVersion:
        return None
    if version.pre or version.dev or version.local or len(version.release) != 3:
        return None
    major, minor, patch = version.release
    return major, minor, patch


def _patches(text: str, major: int, minor: int, own: int) -> list[int]:
    """The patch releases of ``major.minor`` that represent every region the literals of ``text`` split."""
    bounds = {0}
    for literal in _LITERAL.findall(text) or [text]:
        for candidate in _VERSION_LITERAL.findall(literal):
            try:
                release = Version(candidate.rstrip(".*")).release
            except InvalidVersion:
                continue
            if release[:2] == (major, minor):
                bounds.add(release[2] if len(release) > 2 else 0)
    samples = {own, max(bounds) + 2}
    for bound in bounds:
        samples.update({bound - 1, bound, bound + 1})
    return sorted(p for p in samples if p >= 0)


def _marker_splits(text: str, interpreter: Interpreter, release: tuple[int, int, int]) -> bool:
    if not any(variable in text for variable in _PATCH_VARIABLES):
        return False
    if "implementation_version" in text and interpreter.implementation != "cpython":
        return True  # PyPy's own version moves independently of the Python version it implements
    major, minor, own = release
    literals = frozenset(_LITERAL.findall(text))
    lock_file = "extras" in text or "dependency_groups" in text
    # every extra / extras set the marker could be evaluated with: the answer must not vary for any
    contexts: list[dict[str, str | frozenset[str]]] = [
        {"extra": extra} for extra in ({"", *literals} if "extra" in text else {""})
    ]
    if lock_file:
        contexts = [{"extras": chosen, "dependency_groups": chosen} for chosen in (frozenset(), literals)]
    base = dict(interpreter.marker_env)
    patches = _patches(text, major, minor, own)
    for context in contexts:
        answers = set()
        for patch in patches:
            full = f"{major}.{minor}.{patch}"
            env = {**base, **context, "python_full_version": full, "implementation_version": full}
            try:
                parsed = _marker(text)
                answers.add(parsed.evaluate(env, context="lock_file") if lock_file else parsed.evaluate(env))
            except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName, TypeError):
                return True  # cannot tell: pin the full version
        if len(answers) > 1:
            return True
    return False


def _specifier_splits(text: str, release: tuple[int, int, int]) -> bool:
    major, minor, own = release
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier:
        return True
    answers = {
        specifier.contains(f"{major}.{minor}.{p}", prereleases=True)
        for p in _patches(text, major, minor, own)
    }
    return len(answers) > 1


def patch_sensitive(markers: Iterable[str], specifiers: Iterable[str], interpreter: Interpreter) -> bool:
    """Whether any of ``markers`` or ``requires-python`` ``specifiers`` evaluates differently on another
    patch release of the interpreter's ``major.minor`` (always True for a pre-release interpreter)."""
    release = _release(interpreter)
    if release is None:
        return True
    if any(_marker_splits(m, interpreter, release) for m in set(markers) if m):
        return True
    return any(_specifier_splits(s, release) for s in set(specifiers) if s)
