"""Whether pins hold on another patch release: ``patch_sensitive`` against a brute-force oracle."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from nixtox.lock import patch_sensitive
from tests.unit.test_uvlock import interpreter

PY311 = interpreter(11, 7)

versions = st.builds(
    lambda minor, patch, short: f"3.{minor}" if short else f"3.{minor}.{patch}",
    st.sampled_from([10, 11, 12]),
    st.integers(0, 12),
    st.booleans(),
)
ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~="])
comparisons = st.builds(
    lambda variable, op, version: f"{variable} {op} '{version}'",
    st.sampled_from(["python_full_version", "python_version", "implementation_version"]),
    ops,
    versions,
).filter(lambda text: "~= '3." not in text or text.count(".") >= 2)  # ~= needs two release parts
others = st.sampled_from(["sys_platform == 'linux'", "sys_platform == 'win32'", "extra == 'toml'"])
markers = st.recursive(
    comparisons | others,
    lambda inner: st.builds(
        lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["and", "or"]), inner
    ),
    max_leaves=4,
)


def _oracle(text: str) -> bool:
    """Evaluate on 3.11.0 ... 3.11.40 (every extra value): does the answer ever change?"""
    base = dict(PY311.marker_env)
    for extra in ("", "toml"):
        answers = set()
        for patch in range(41):
            full = f"3.11.{patch}"
            env = {**base, "python_full_version": full, "implementation_version": full, "extra": extra}
            answers.add(Marker(text).evaluate(env))
        if len(answers) > 1:
            return True
    return False


@settings(max_examples=400, deadline=None)
@given(markers)
def test_marker_sensitivity_matches_brute_force(text: str) -> None:
    assert patch_sensitive([text], [], PY311) == _oracle(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(lambda op, v: f"{op}{v}", ops, versions), min_size=1, max_size=3).map(",".join))
def test_requires_python_sensitivity_matches_brute_force(text: str) -> None:
    try:
        specifier = SpecifierSet(text)
    except ValueError:
        return
    answers = {specifier.contains(f"3.11.{p}", prereleases=True) for p in range(41)}
    assert patch_sensitive([], [text], PY311) == (len(answers) > 1)


def test_typical_markers() -> None:
    assert not patch_sensitive(["python_full_version < '3.11'", "python_full_version == '3.11.*'"], [], PY311)
    assert not patch_sensitive(["python_version <= '3.11'"], [">=3.8"], PY311)
    assert patch_sensitive(["python_full_version < '3.11.4'"], [], PY311)
    assert patch_sensitive([], [">=3.11.2"], PY311)
    assert not patch_sensitive([], [">=3.12.2"], PY311)  # another minor: not this interpreter's concern


def test_a_pre_release_interpreter_always_pins_its_full_version() -> None:
    env = dict(PY311.marker_env, python_full_version="3.14.0rc1")
    pre = dataclasses.replace(PY311, marker_env=tuple(sorted(env.items())))
    assert patch_sensitive([], [], pre)


def test_pypy_implementation_version_pins_the_full_version() -> None:
    pypy = dataclasses.replace(PY311, implementation="pypy")
    assert patch_sensitive(["implementation_version >= '7.3'"], [], pypy)
    assert not patch_sensitive(["implementation_version >= '7.3'"], [], PY311)
