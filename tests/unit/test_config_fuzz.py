"""No traceback for user input: random config text and random -e strings raise only NixtoxError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nixtox.config import load_project
from nixtox.errors import NixtoxError
from nixtox.select import Selection, select_envs

_KEYS = [
    "env_list",
    "envlist",
    "deps",
    "commands",
    "set_env",
    "setenv",
    "base_python",
    "package",
    "package_formats",
    "exclude_package_formats",
    "packagedef",
    "labels",
    "skip_install",
    "depends",
    "change_dir",
    "depss",
    "suicide_timeout",
    "format",
    "config_settings",
]
_SECTIONS = [
    "tox",
    "testenv",
    "testenv:py312",
    "testenv:py3{11,12}-x",
    "packagedef:p",
    "testenv:lint",
    "base",
]
_VALUE = st.lists(
    st.sampled_from(
        [
            *"py3{1,2}-!: ab\n\\#[]=\"'x-_.0",
            "{posargs}",
            "{env:X:",
            "{[base]deps}",
            "py312: ",
            "{env_name}",
            "\n  ",
            "true",
            "wheel",
            "sdist",
        ]
    ),
    max_size=40,
).map("".join)


@st.composite
def ini_text(draw: st.DrawFn) -> str:
    parts = []
    for section in draw(st.lists(st.sampled_from(_SECTIONS), max_size=4)):
        parts.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(_KEYS), max_size=4)):
            parts.append(f"{key} = {draw(_VALUE)}")
    return "\n".join(parts) + "\n"


_TOML_SCALAR = st.one_of(st.text(max_size=10), st.integers(), st.booleans())
_TOML_VALUE = st.recursive(
    _TOML_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "replace",
                    "name",
                    "default",
                    "of",
                    "env",
                    "key",
                    "extend",
                    "product",
                    "prefix",
                    "start",
                    "stop",
                    "x",
                ]
            ),
            inner,
            max_size=3,
        ),
        st.fixed_dictionaries(
            {"replace": st.sampled_from(["posargs", "env", "ref", "glob"])},
            optional={"default": inner, "name": inner, "of": inner, "env": inner, "key": inner},
        ),
    ),
    max_leaves=6,
)


def _toml_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_literal(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f'"{k}" = {_toml_literal(v)}' for k, v in value.items()) + "}"


@st.composite
def toml_text(draw: st.DrawFn) -> str:
    lines = [
        f"{k} = {_toml_literal(draw(_TOML_VALUE))}"
        for k in draw(st.lists(st.sampled_from(_KEYS), max_size=3, unique=True))
    ]
    for table in draw(
        st.lists(
            st.sampled_from(["env_run_base", "env.py312", "env.lint", "packagedef.p"]),
            max_size=3,
            unique=True,
        )
    ):
        lines.append(f"[{table}]")
        for key in draw(st.lists(st.sampled_from(_KEYS), max_size=3, unique=True)):
            lines.append(f"{key} = {_toml_literal(draw(_TOML_VALUE))}")
    return "\n".join(lines) + "\n"


_ENV_OPTION = st.one_of(
    st.none(), st.lists(st.sampled_from([*"py3{1,2}-!ab.,/ ", "ALL", "lint"]), max_size=15).map("".join)
)


def _check(filename: str, text: str, env: str | None, skip: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / filename).write_text(text, encoding="utf-8")
        try:
            project = load_project(root, posargs=None)
            select_envs(project, Selection(env=env, skip_env=skip))
        except NixtoxError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ini_text(), _ENV_OPTION, st.one_of(st.none(), st.sampled_from(["(", "py.*", ""])))
def test_random_ini(text: str, env: str | None, skip: str | None) -> None:
    _check("tox.ini", text, env, skip)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml_text(), _ENV_OPTION)
def test_random_toml(text: str, env: str | None) -> None:
    _check("tox.toml", text, env, None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_bytes_as_ini(text: str) -> None:
    _check("tox.ini", text, None, None)
