"""``-x/--override`` in the expand stage: tox's semantics in tox.ini and TOML, the same answers as tox 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nixtox.config import ExpandOptions, Override, environ_overrides, load_project
from nixtox.errors import ConfigError
from nixtox.model import Command, EnvSpec, Project

from .conftest import ProjectFactory

INI = """
[tox]
env_list = x, y
[testenv]
description = base
deps = a
set_env = A = 1
commands = python -c 1
[testenv:x]
deps = b
"""

TOML = """
env_list = ["x", "y"]
[env_run_base]
description = "base"
deps = ["a"]
set_env = { A = "1" }
commands = [["python", "-c", "1"]]
[env.x]
deps = ["b"]
"""


def _project(root: Path, *overrides: str) -> Project:
    given = ExpandOptions(overrides=tuple(Override.parse(o) for o in overrides))
    return load_project(root, given=given)


def _env(project: Project, name: str) -> EnvSpec:
    listed = [spec for spec in project.envs if spec.name == name]
    return (listed or list(project.adhoc(name)))[0]


def _deps(root: Path, *overrides: str) -> dict[str, list[str]]:
    project = _project(root, *overrides)
    return {name: list(_env(project, name).config.deps) for name in ("x", "y")}


@pytest.fixture(params=["tox.ini", "tox.toml"])
def root(request: pytest.FixtureRequest, nixtox_project: ProjectFactory) -> Path:
    return nixtox_project({request.param: INI if request.param == "tox.ini" else TOML})


def test_parse_as_tox() -> None:
    assert Override.parse("testenv:py312.deps+=foo") == Override("testenv:py312", "deps", "foo", append=True)
    assert Override.parse("env.py3\\.12.deps=x=y") == Override("env.py3.12", "deps", "x=y")
    assert Override.parse("env_list=a,b") == Override("", "env_list", "a,b")
    with pytest.raises(ValueError, match="override deps has no = sign in it"):
        Override.parse("deps")
    with pytest.raises(ValueError, match="names no key"):
        Override.parse("testenv.=1")


def test_replace_and_append_follow_the_section_that_sets_the_key(root: Path) -> None:
    ns = "testenv" if root.joinpath("tox.ini").exists() else "env_run_base"
    one = "testenv:x" if ns == "testenv" else "env.x"
    assert _deps(root, f"{one}.deps+=foo") == {"x": ["b", "foo"], "y": ["a"]}
    assert _deps(root, f"{one}.deps=foo") == {"x": ["foo"], "y": ["a"]}
    # an env without a section of its own: its override still applies, appended to what it inherits
    assert _deps(root, f"{one[:-1]}y.deps+=foo") == {"x": ["b"], "y": ["a", "foo"]}
    # the base's append reaches only the envs that take the base's value (x sets its own), as in tox
    assert _deps(root, f"{ns}.deps+=foo") == {"x": ["b"], "y": ["a", "foo"]}
    # several lines, later overrides after earlier ones
    assert _deps(root, f"{one}.deps=p\nq", f"{one}.deps+=r") == {"x": ["p", "q", "r"], "y": ["a"]}


def test_both_spellings_name_the_sections_in_either_format(root: Path) -> None:
    assert _deps(root, "testenv:x.deps+=foo") == _deps(root, "env.x.deps+=foo")
    assert _deps(root, "testenv.deps+=foo") == _deps(root, "env_run_base.deps+=foo")


def test_core_commands_and_tables(root: Path) -> None:
    project = _project(
        root, "tox.env_list=x", 'testenv:y.commands=python -c "print(2)"', "testenv.set_env+=B=2",
        "testenv.description=over {env_name}",
    )  # fmt: skip
    assert project.core.env_list == ("x",)
    y = _env(project, "y").config
    assert y.commands == (Command(("python", "-c", "print(2)")),)
    assert dict(y.set_env) == {"A": "1", "B": "2"}
    assert y.description == "over y"
    assert _project(root, "env_list=y").core.env_list == ("y",)  # the TOML spelling of the core


def test_set_env_from_an_override_is_seen_by_env_substitutions(root: Path) -> None:
    project = _project(root, "testenv.set_env+=B=from-override", "testenv.description={env:B}")
    assert _env(project, "y").config.description == "from-override"


def test_bad_values_are_one_config_error_naming_the_override(root: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"override -x testenv.ignore_errors=maybe: 'maybe' is not a boolean"
    ):
        _project(root, "testenv.ignore_errors=maybe")
    with pytest.raises(ConfigError, match=r"override -x testenv:x.description\+=more: \+= appends only"):
        _project(root, "testenv:x.description+=more")


def test_unknown_sections_and_keys_are_warnings(root: Path) -> None:
    warnings = _project(root, "nosuch.deps=a", "testenv.depz=a", "deps=a").core.warnings
    assert any("override -x nosuch.deps=a: 'nosuch' names no section" in w for w in warnings)
    assert any(
        "override -x testenv.depz=a: unknown env key 'depz', did you mean 'deps'?" in w for w in warnings
    )
    assert any(
        "override -x deps=a: unknown core key 'deps' (an env key: write testenv.deps=...)" in w
        for w in warnings
    )


def test_environment_variables_hold_overrides_separated_by_semicolons() -> None:
    environ = {"TOX_OVERRIDE": "testenv.deps+=a;tox.env_list=x", "NIXTOX_OVERRIDE": "testenv.deps+=b"}
    assert environ_overrides(environ) == ("testenv.deps+=b", "testenv.deps+=a", "tox.env_list=x")
    assert environ_overrides({}) == ()


# --- differential: tox 4 (the pinned one) gives the same answers -----------------------------------------


def _tox_config(root: Path, overrides: tuple[str, ...]) -> dict[str, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_"))}
    argv = [
        sys.executable,
        "-m",
        "tox",
        "config",
        "-e",
        "x,y",
        "--format",
        "json",
        "-k",
        "deps",
        "description",
    ]
    for override in overrides:
        argv += ["-x", override]
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, dict[str, object]] = json.loads(proc.stdout)["env"]
    return data


@pytest.mark.parametrize(
    "overrides",
    [
        ("testenv:x.deps+=foo", "testenv.description=d {env_name}"),
        ("testenv.deps+=foo", "testenv:y.deps+=bar"),
        ("testenv:y.deps=zz", "testenv:x.description=dx"),
        ("env.x.deps+=foo", "env_run_base.deps+=foo"),
    ],
)
def test_same_as_tox(root: Path, overrides: tuple[str, ...]) -> None:
    if root.joinpath("tox.toml").exists():
        # tox reads only TOML's own spelling in a TOML config (ini names are ignored there)
        overrides = tuple(
            o.replace("testenv:", "env.").replace("testenv.", "env_run_base.") for o in overrides
        )
    elif any(o.startswith(("env.", "env_run_base.")) for o in overrides):
        overrides = tuple(
            o.replace("env.", "testenv:", 1).replace("env_run_base.", "testenv.") for o in overrides
        )
    theirs = _tox_config(root, overrides)
    project = _project(root, *overrides)
    for name in ("x", "y"):
        ours = _env(project, name).config
        assert list(ours.deps) == theirs[name]["deps"], name
        assert ours.description == theirs[name]["description"], name
