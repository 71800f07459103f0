"""select_envs: ported from tox's tests/session/test_env_select.py (behaviour checked against tox 4)."""

from __future__ import annotations

import pytest

from nixtox.config import load_project
from nixtox.errors import EnvSelectionError
from nixtox.model import Project
from nixtox.select import Selection, parse_env_option, select_envs

from .conftest import ProjectFactory

INI = """
[tox]
env_list = py3{11,12}-{a,b}, lint
labels =
    fast = lint, py312-a
[testenv]
deps =
    django: django
[testenv:lint]
labels = check, style
[testenv:docs]
labels = check
package_formats = sdist wheel
"""


@pytest.fixture
def project(nixtox_project: ProjectFactory) -> Project:
    return load_project(nixtox_project({"tox.ini": INI}))


def _names(project: Project, **kwargs: object) -> list[str]:
    return [s.label for s in select_envs(project, Selection(**kwargs))]  # type: ignore[arg-type]


def test_default_is_env_list(project: Project) -> None:
    assert _names(project) == ["py311-a", "py311-b", "py312-a", "py312-b", "lint"]


def test_all(project: Project) -> None:
    # as tox 4: ALL is every listed env, incl. "django", spelled only by a condition with a new factor
    assert _names(project, env="ALL") == [*_names(project), "(sdist) docs", "(wheel) docs", "django"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("lint", ["lint"]),
        ("py3{11,12}-a,lint", ["py311-a", "py312-a", "lint"]),
        ("lint,lint", ["lint"]),
        ("docs", ["(sdist) docs", "(wheel) docs"]),
        ("py313-a", ["py313-a"]),
        ("3.13-django", ["3.13-django"]),
        ("py312-django", ["py312-django"]),
        ("py311-a, py311-a", ["py311-a"]),
    ],
)
def test_env_option(project: Project, value: str, expected: list[str]) -> None:
    assert _names(project, env=value) == expected


def test_adhoc_env_inherits_testenv(project: Project) -> None:
    (spec,) = select_envs(project, Selection(env="py313-django"))
    assert spec.config.deps == ("django",)
    assert spec.python == "py313"
    assert not spec.default


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("py311-c", "py311-c$"),
        ("lnt", "lnt - did you mean lint?"),
        ("py3.11-a", "did you mean py311-a"),
        ("djngo-a", "did you mean django-a"),
        ("../x", "'../x'"),
    ],
)
def test_unknown_env(project: Project, value: str, message: str) -> None:
    with pytest.raises(EnvSelectionError, match=message):
        select_envs(project, Selection(env=value))


def test_labels(project: Project) -> None:
    assert _names(project, labels=("fast",)) == ["py312-a", "lint"]
    assert _names(project, labels=("check",)) == ["lint", "(sdist) docs", "(wheel) docs"]
    assert _names(project, labels=("nope",)) == []


def test_factors_and_within_or_across(project: Project) -> None:
    assert _names(project, factors=(("py311", "a"),)) == ["py311-a"]
    assert _names(project, factors=(("py311-a",),)) == ["py311-a"]
    assert _names(project, factors=(("a",), ("lint",))) == ["py311-a", "py312-a", "lint"]


def test_labels_override_env(project: Project) -> None:
    assert _names(project, env="py311-b", labels=("style",)) == ["lint"]


def test_skip_env(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _names(project, skip_env="py311") == ["py312-a", "py312-b", "lint"]
    monkeypatch.setenv("TOX_SKIP_ENV", ".*-b")
    assert _names(project) == ["py311-a", "py312-a", "lint"]
    with pytest.raises(EnvSelectionError, match="invalid environment skip filter"):
        select_envs(project, Selection(skip_env="("))


@pytest.mark.parametrize("var", ["TOX_ENV", "NIXTOX_ENV"])
def test_env_from_environment(project: Project, monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "lint")
    assert _names(project) == ["lint"]
    assert _names(project, env="docs") == ["(sdist) docs", "(wheel) docs"]


def test_dropped_env_is_reported(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = a\n[testenv:b]\nexclude_package_formats = skip\n"})
    with pytest.raises(EnvSelectionError, match=r"b \(exclude_package_formats removed every package format"):
        select_envs(load_project(root), Selection(env="b"))


def test_parse_env_option() -> None:
    assert parse_env_option("py3{11,12}-{a,b}, lint") == ["py311-a", "py311-b", "py312-a", "py312-b", "lint"]
    assert parse_env_option("a{b") == ["a{b"]


def test_keys_narrow_a_selection_to_one_format(project: Project) -> None:
    assert _names(project, env="docs", keys=("docs-wheel",)) == ["(wheel) docs"]
    assert _names(project, env="docs") == ["(sdist) docs", "(wheel) docs"]
