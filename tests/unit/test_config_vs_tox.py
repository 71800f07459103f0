"""Differential tests: nixtox and the installed tox 4 read the same configs the same way.

For each config, both list the envs and resolve deps/commands/description/... for every env; the
answers must agree (nixtox deliberately does not list envs spelled only by factor conditions).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nixtox.config import load_project
from nixtox.select import Selection, select_envs

from .conftest import ProjectFactory

CASES: dict[str, dict[str, str]] = {
    "factors": {
        "tox.ini": """
        [tox]
        env_list = py3{11,12}-{a,b}, lint
        [testenv]
        description = run {env_name}
        deps =
            pytest
            django: django
            py311-a: foo
            py3{11,12}: bar
            !a: not-a
        commands = pytest {posargs:tests}
        [testenv:lint]
        description = lint it
        skip_install = true
        commands =
            - ruff check .
            ruff format --check
        [testenv:other]
        deps = {[testenv]deps}
            extra
        """
    },
    "generative_sections_and_ranges": {
        "tox.ini": """
        [tox]
        envlist = py3{10-13}, py3{13-12}-x
        [testenv]
        setenv =
            A = 1
            py312: B = 2
        passenv = HOME, USER
        changedir = {toxinidir}/sub
        [testenv:py3{11,12}-{black,lint}]
        deps =
            black: black
            lint: flake8
        commands = echo {envname} {basepython}
        """
    },
    "substitutions": {
        "tox.ini": """
        [tox]
        env_list = a
        [base]
        deps = six
        [testenv]
        deps =
            {[base]deps}
            req-{env:NIXTOX_TEST_UNSET:dflt}
        commands =
            python -c 'print("\\{x\\}")'
            echo {posargs} end
            echo {env:NIXTOX_TEST_UNSET:{env_name}}
            echo {/} a{:}b
            echo \\# not a comment # a comment
        allowlist_externals = echo, ls
        """
    },
    "setup_cfg": {
        "setup.cfg": """
        [metadata]
        name = x
        [tox:tox]
        envlist = py311, docs
        [testenv]
        deps = pytest
        commands = pytest
        [testenv:docs]
        deps = sphinx
        """
    },
    "legacy_toml": {
        "pyproject.toml": '''
        [tool.tox]
        legacy_tox_ini = """
        [tox]
        env_list = py312, type
        [testenv]
        deps = pytest
        commands = pytest {posargs}
        [testenv:type]
        deps = mypy
        """
        '''
    },
    "tox_toml": {
        "tox.toml": """
        env_list = [
            "lint",
            {product = [{prefix = "py3", start = 11, stop = 12}, ["a", "b"]], exclude = ["py312-b"]},
        ]
        [env_run_base]
        description = "run {env_name}"
        deps = ["pytest", "six"]
        commands = [["pytest", {replace = "posargs", default = ["tests"], extend = true}]]
        set_env = { A = "1" }
        [env.lint]
        skip_install = true
        deps = [{replace = "ref", of = ["env_run_base", "deps"], extend = true}, "ruff"]
        commands = [["ruff", "check"], ["-", "ruff", "format"]]
        [env.extra]
        deps = ["{env:NIXTOX_TEST_UNSET:zzz}"]
        """
    },
    "ini_base": {
        "tox.ini": """
        [tox]
        env_list = a, b, c, d, e
        base = corebase
        [corebase]
        labels = x = a
        [common]
        deps = common-dep
        description = from common
        commands_pre = echo {env_name}
        [testenv]
        deps = testenv-dep
        commands = python -V
        [testenv:shared]
        allowlist_externals = shared-allow
        commands = shared
        [testenv:a]
        base = common
        [testenv:b]
        base = common, testenv
        description = b own
        [testenv:c]
        base = shared
        deps = c-dep
        [testenv:d]
        base = c
        [testenv:e]
        base =
            py311: common
            testenv
        """
    },
    "toml_env_base": {
        "tox.toml": """
        env_list = ["lint"]
        [env_run_base]
        deps = ["pytest"]
        commands = [["pytest"]]
        description = "run base"
        [env_base.test]
        factors = [["py311", "py312"], ["django", "flask"]]
        deps = ["pytest", "{env_name}"]
        [env_base.simple]
        factors = ["x", "y"]
        description = "simple {env_name}"
        [env_base.ranged]
        factors = [{prefix = "py3", start = 11, stop = 12}]
        [env.test-py312-flask]
        description = "own"
        [env.lint]
        deps = ["ruff"]
        [env.other]
        base = ["lint"]
        """
    },
    "toml_if_glob": {
        "tox.toml": """
        env_list = ["py311-a", "py312-b", "lint"]
        [env_run_base]
        deps = [
            "pytest",
            {replace = "if", condition = "factor.a", then = ["alpha"], extend = true},
            {replace = "if", condition = "factor.b and not factor.a", then = "beta", else = "notbeta", extend = true},
            {replace = "if", condition = "factor.lint", then = "linting", extend = true},
        ]
        commands = [
            ["pytest", {replace = "if", condition = "env_name == 'lint'", then = ["--lint"], else = ["-q"], extend = true}],
            ["ls", {replace = "glob", pattern = "scripts/*.sh", extend = true}],
            ["ls", {replace = "glob", pattern = "nothing/*.x", default = ["none"], extend = true}],
        ]
        description = {replace = "if", condition = "env.NIXTOX_TEST_UNSET == '' or factor.b", then = "unset {env_name}", else = "set"}
        allowlist_externals = [{replace = "glob", pattern = "scripts/**/*.sh", extend = true}]
        """,
        "scripts/b.sh": "",
        "scripts/a.sh": "",
        "scripts/sub/c.sh": "",
    },
}

KEYS = (
    "deps",
    "commands",
    "commands_pre",
    "description",
    "allowlist_externals",
    "pass_env",
    "change_dir",
    "skip_install",
    "base_python",
)


def _tox(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "tox", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize("posargs", [None, ["a b", "c"]])
@pytest.mark.parametrize("case", list(CASES))
def test_same_as_tox(case: str, posargs: list[str] | None, nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(CASES[case])
    project = load_project(root, posargs=posargs)
    names = list(dict.fromkeys(spec.name for spec in project.envs))
    tox_names = _tox(root, "l", "--no-desc").split()
    conditions = project.core.condition_envs
    assert isinstance(conditions, tuple)
    assert [n for n in tox_names if n not in conditions or n in names] == names
    specs = {spec.name: spec for spec in select_envs(project, Selection(env="ALL"))}
    extra = ["--", *posargs] if posargs is not None else []
    tox_conf = json.loads(
        _tox(root, "config", "-e", ",".join(names), "--format", "json", "-k", *KEYS, *extra)
    )
    for name in names:
        ours, theirs = specs[name].config, tox_conf["env"][name]
        assert list(ours.deps) == theirs["deps"], name
        assert [c.as_json() for c in ours.commands] == [_tox_command(c) for c in theirs["commands"]], name
        assert ours.description == theirs["description"], name
        assert list(ours.allowlist_externals) == theirs["allowlist_externals"], name
        assert str(ours.change_dir) == theirs["change_dir"], name
        assert ours.skip_install == theirs["skip_install"], name
        if specs[name].python is not None:
            assert list(ours.base_python) == theirs["base_python"], name
        assert set(ours.pass_env) <= set(theirs["pass_env"]), name


def _tox_command(text: str) -> list[str]:
    return shlex.split(text)


def test_set_env_same_as_tox(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(CASES["generative_sections_and_ranges"])
    project = load_project(root)
    tox_conf = json.loads(_tox(root, "config", "-e", "py312,py310", "--format", "json", "-k", "set_env"))
    for spec in project.envs:
        if spec.name in {"py312", "py310"}:
            theirs = tox_conf["env"][spec.name]["set_env"]
            assert {k: theirs[k] for k, _ in spec.config.set_env} == dict(spec.config.set_env)


#: keys whose tox meaning nixtox acts on at run, lock or build time: the values must read the same
ACTED_KEYS = (
    "platform",
    "commands_retry",
    "fail_fast",
    "system_site_packages",
    "pip_pre",
    "recreate",
    "parallel_show_output",
    "extra_setup_commands",
    "constrain_package_deps",
    "use_frozen_constraints",
    "disallow_pass_env",
)
KEY_CASES: dict[str, dict[str, str]] = {
    "ini": {
        "tox.ini": """
        [tox]
        env_list = a, b, c
        [testenv]
        skip_install = true
        commands_retry = 2
        fail_fast = true
        platform = linux|darwin
        sitepackages = true
        pip_pre = true
        recreate = true
        parallel_show_output = true
        constrain_package_deps = true
        disallow_pass_env = SECRET_*, TOKEN
        extra_setup_commands =
            python -c "print('setup {env_name}')"
            - echo x
        [testenv:b]
        recreate = false
        platform = win32
        use_frozen_constraints = true
        system_site_packages = false
        [testenv:c]
        commands_retry = 0
        extra_setup_commands =
        """
    },
    "toml": {
        "tox.toml": """
        env_list = ["a", "b"]
        [env_run_base]
        skip_install = true
        commands_retry = 1
        platform = "linux"
        system_site_packages = true
        extra_setup_commands = [["python", "-c", "print(1)"], ["-", "echo", "{env_name}"]]
        [env.b]
        fail_fast = true
        pip_pre = true
        """
    },
}


@pytest.mark.parametrize("case", list(KEY_CASES))
def test_acted_keys_same_as_tox(case: str, nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(KEY_CASES[case])
    specs = {spec.name: spec for spec in load_project(root).envs}
    tox_conf = json.loads(_tox(root, "config", "-e", ",".join(specs), "--format", "json", "-k", *ACTED_KEYS))
    for name, spec in specs.items():
        ours, theirs = spec.config, tox_conf["env"][name]
        for key in ACTED_KEYS:
            value = getattr(ours, key)
            if key == "extra_setup_commands":
                assert [c.as_json() for c in value] == [_tox_command(c) for c in theirs[key]], name
            elif isinstance(value, tuple):
                assert list(value) == theirs[key], (name, key)
            else:
                assert value == theirs[key], (name, key)


def test_default_base_python_same_as_tox(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "tox.ini": """
            [tox]
            env_list = lint, py311, pinned
            [testenv]
            default_base_python = python3.12
            [testenv:pinned]
            base_python = python3.13
            """
        }
    )
    specs = {spec.name: spec for spec in load_project(root).envs}
    tox_conf = json.loads(
        _tox(root, "config", "-e", "lint,py311,pinned", "--format", "json", "-k", "base_python")
    )
    for name, spec in specs.items():
        assert list(spec.config.base_python) == tox_conf["env"][name]["base_python"], name
    assert specs["lint"].python == "python3.12"
