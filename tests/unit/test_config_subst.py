"""Substitutions beyond what the differential tests against tox cover."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nixtox.config import load_project
from nixtox.config._subst import Substitutions
from nixtox.model import Command

from .conftest import ProjectFactory


def _subs(**refs: str) -> Substitutions:
    return Substitutions(root=Path("/r"), posargs=None, reference=refs.get, environ=lambda _: None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{a}", "A"),
        ("{unknown}", "{unknown}"),
        ("{posargs", "{posargs"),
        ("x}", "x}"),
        ("\\{a\\}", "{a}"),
        ("{posargs:-k {a}}", "-k A"),
        ("{env:NOPE:{env:ALSO:deep}}", "deep"),
        ("{/}", os.sep),
        ("{:}", os.pathsep),
        ("[]", ""),
        ("a\\:b", "a:b"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert _subs(a="A").expand(text) == expected


def test_deep_nesting_is_literal() -> None:
    text = "{" * 500 + "}" * 500
    assert _subs().expand(text).count("{") >= 400


def test_set_env_feeds_env_substitution(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "tox.ini": """
            [tox]
            env_list = a
            [testenv]
            description = about {env_name}
            set_env =
                COV = {env_dir}/cov
            commands = echo {env:COV} {description} {posargs:none}
            """
        }
    )
    (spec,) = load_project(root, posargs=["x y"]).envs
    env_dir = root / ".nixtox" / "envs" / "a"
    assert spec.config.commands == (Command(("echo", f"{env_dir}/cov", "about", "a", "x y")),)
