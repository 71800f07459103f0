"""Factor expansion and conditional lines: ported from tox's tests/config/loader/ini/test_factor.py."""

from __future__ import annotations

import sys
from textwrap import dedent

import pytest

from nixtox.config._factors import (
    expand_env_names,
    expand_ranges,
    filter_for_env,
    find_envs,
    interpreter_request,
    is_python_factor,
    python_conflicts,
)

COMPLEX = dedent(
    """
    default
    lines
    py: py only
    !py: not py
    {py,!pi}-{a,b}{,-dev},c: complex
    py, d: space
    extra: extra
    more-default
    no:space
    trailingcolon:
    tab:\ttab
    """
)


def test_find_envs_empty() -> None:
    assert list(find_envs("\n\n")) == []


def test_find_envs_complex() -> None:
    assert list(find_envs(COMPLEX)) == [
        "py",
        "py-a",
        "py-a-dev",
        "py-b",
        "py-b-dev",
        "pi-a",
        "pi-a-dev",
        "pi-b",
        "pi-b-dev",
        "c",
        "d",
        "extra",
        "trailingcolon",
        "tab",
    ]


@pytest.mark.parametrize(
    "env",
    [
        "py",
        "py-a",
        "py-a-dev",
        "py-b",
        "py-b-dev",
        "pi-a",
        "pi-a-dev",
        "pi-b",
        "pi-b-dev",
        "c",
        "extra",
        "trailingcolon",
        "tab",
    ],
)
def test_filter_complex(env: str) -> None:
    result = filter_for_env(COMPLEX, env)
    for always in ("default", "lines", "more-default", "no:space"):
        assert always in result
    assert ("py only" in result) == ("py" in env)
    assert ("not py" in result) == ("py" not in env)
    assert ("extra" in result) == (env == "extra")
    assert ("complex" in result) == (env in {"py-a", "py-a-dev", "py-b", "py-b-dev", "c"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "{py27,py36}-django{ 15, 16 }{,-dev}, docs, flake",
            [
                "py27-django15",
                "py27-django15-dev",
                "py27-django16",
                "py27-django16-dev",
                "py36-django15",
                "py36-django15-dev",
                "py36-django16",
                "py36-django16-dev",
                "docs",
                "flake",
            ],
        ),
        ("docs, flake8", ["docs", "flake8"]),
        ("py37-{base,i18n},b", ["py37-base", "py37-i18n", "b"]),
        ("py3{10-13}", ["py310", "py311", "py312", "py313"]),
        ("py3{13-10}", ["py313", "py312", "py311", "py310"]),
        ("py3{12-}", ["py312", "py313", "py314", "py315"]),
        ("py3{-12}", ["py311", "py312"]),
        ("py3{9,11-12}", ["py39", "py311", "py312"]),
        ("py-django-4-2", ["py-django-4-2"]),
        ("a,a,b,a", ["a", "b"]),
        ("py3{11,12}-a\nlint", ["py311-a", "py312-a", "lint"]),
        ("{,dev-}lint", ["lint", "dev-lint"]),
    ],
)
def test_expand_env_names(value: str, expected: list[str]) -> None:
    assert expand_env_names(value) == expected


def test_expand_ranges_keeps_single_numbers() -> None:
    assert expand_ranges("{1,2}") == "{1,2}"


@pytest.mark.parametrize("bad", ["py3{11", "a b", "py@3"])
def test_expand_env_names_invalid(bad: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        expand_env_names(bad)


def test_factor_config_conditions() -> None:
    value = dedent(
        """
        pytest
        django15: Django>=1.5,<1.6
        django16: Django>=1.6,<1.7
        py36: unittest2
        !py37,!django16: negation-or
        !py37-!django16: negation-and
        """
    )
    for env in expand_env_names("{py36,py37}-{django15,django16}"):
        deps = filter_for_env(value, env).split("\n")
        assert "pytest" in deps
        if "py36" in env:
            assert "unittest2" in deps
            assert "negation-or" in deps
        if "django15" in env:
            assert "Django>=1.5,<1.6" in deps
            assert "negation-or" in deps
        if "django16" in env:
            assert "Django>=1.6,<1.7" in deps
        assert ("negation-and" in deps) == (env == "py36-django15")


@pytest.mark.parametrize(
    ("env", "result"),
    [("py35", "python -m coverage html -d cov"), ("py36", "python -m coverage html -d cov\n--show-contexts")],
)
def test_conditional_line_is_kept_or_dropped(env: str, result: str) -> None:
    value = "python -m coverage html -d cov\n!py35: --show-contexts"
    assert filter_for_env(value, env) == result


def test_multiple_factor_match() -> None:
    assert filter_for_env("a{,-b}: x", "a-b") == "x"


def test_factor_group_in_condition() -> None:
    assert filter_for_env("py3{11,12}: x", "py312-a") == "x"
    assert filter_for_env("py3{11,12}: x", "py313-a") == ""


def test_colon_needs_whitespace_or_end() -> None:
    assert filter_for_env("http://example.com\nfoo:bar", "py") == "http://example.com\nfoo:bar"
    assert filter_for_env("py:\nnext", "other") == "next"


def test_backslash_continuation_follows_its_condition() -> None:
    value = "py311: pytest \\\n  --cov\nalways"
    assert filter_for_env(value, "py312") == "always"
    assert filter_for_env(value, "py311") == "pytest \\\n  --cov\nalways"


def test_platform_is_a_factor() -> None:
    assert filter_for_env(f"{sys.platform}: yes", "py") == "yes"


@pytest.mark.parametrize(
    ("name", "request_"),
    [
        ("py312", "py312"),
        ("py3.12", "py3.12"),
        ("3.12", "3.12"),
        ("pypy310", "pypy310"),
        ("cpython3.12", "cpython3.12"),
        ("py312t", "py312t"),
        ("py3", "py3"),
        ("py", None),
        ("py312-django", "py312"),
        ("lint", None),
        ("pypy-3.10-x", "pypy3.10"),
        ("cpython-3.12", "3.12"),
    ],
)
def test_interpreter_request(name: str, request_: str | None) -> None:
    assert interpreter_request(name) == request_


def test_two_pythons_in_a_name() -> None:
    with pytest.raises(ValueError, match="conflicting factors"):
        interpreter_request("py311-py312")


@pytest.mark.parametrize(
    ("env", "base", "conflict"),
    [
        ("py312", "python3.12", False),
        ("py312", "python3.11", True),
        ("py3", "python3.12", False),
        ("pypy310", "python3.10", True),
        ("py312", "/usr/bin/python", False),
        ("py312t", "python3.12", True),
        ("3.12", "py312", False),
    ],
)
def test_python_conflicts(env: str, base: str, conflict: bool) -> None:
    assert python_conflicts(env, base) is conflict


@pytest.mark.parametrize(
    ("factor", "ok"),
    [("py312", True), ("3.12", True), ("pypy3", True), ("django", False), ("rc.1", True), ("", False)],
)
def test_is_python_factor(factor: str, ok: bool) -> None:
    assert is_python_factor(factor) is ok
