"""load_project: config sources and precedence, nixtox additions, errors and warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixtox.config import load_project
from nixtox.errors import ConfigError
from nixtox.model import Command

from .conftest import ProjectFactory


def _labels(root: Path, **kwargs: object) -> list[str]:
    return [spec.label for spec in load_project(root, **kwargs).envs]  # type: ignore[arg-type]


def test_no_config_means_py(nixtox_project: ProjectFactory) -> None:
    project = load_project(nixtox_project({"README": "x"}))
    assert [(s.name, s.default, s.package_format) for s in project.envs] == [("py", True, "skip")]


def test_default_py_listed_first(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nlabels =\n  test = py310, a-b\n[testenv:lint]\n"})
    assert _labels(root) == ["py", "lint", "py310", "a-b"]


def test_condition_only_envs_with_new_factors_are_additional_envs_as_in_tox(
    nixtox_project: ProjectFactory,
) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\ndeps =\n  django: django\n  py312: x\n  py311,py313: y\n"
    root = nixtox_project({"tox.ini": ini})
    assert _labels(root) == ["py312", "django", "py311", "py313"]
    project = load_project(root)
    assert [s.name for s in project.envs if s.default] == ["py312"]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"tox.ini": "[tox]\nenv_list = ini\n", "tox.toml": 'env_list = ["toml"]\n'}, "ini"),
        ({"tox.ini": "[tox]\nenv_list = ini\n", "nixtox.toml": 'env_list = ["native"]\n'}, "native"),
        ({"setup.cfg": "[tox:tox]\nenv_list = cfg\n", "tox.toml": 'env_list = ["toml"]\n'}, "cfg"),
        ({"setup.cfg": "[metadata]\nname = x\n", "tox.toml": 'env_list = ["toml"]\n'}, "toml"),
        (
            {"pyproject.toml": '[tool.tox]\nenv_list = ["pyproject"]\n', "tox.toml": 'env_list = ["toml"]\n'},
            "pyproject",
        ),
        (
            {
                "pyproject.toml": '[tool.nixtox]\nenv_list = ["nix"]\n[tool.tox]\nenv_list = ["tox"]\n',
                "tox.ini": "[tox]\nenv_list = ini\n",
            },
            "nix",
        ),
        ({"pyproject.toml": '[project]\nname = "x"\n', "tox.toml": 'env_list = ["toml"]\n'}, "toml"),
    ],
)
def test_source_precedence(files: dict[str, str], expected: str, nixtox_project: ProjectFactory) -> None:
    assert _labels(nixtox_project(files))[0] == expected


def test_config_file_option_picks_one_file(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "tox.ini": "[tox]\nenv_list = ini\n",
            "other.ini": "[tox]\nenv_list = other\n",
            "ci.toml": 'env_list = ["ci"]\n',
        }
    )
    assert _labels(root, config_file=Path("other.ini"))[0] == "other"
    assert _labels(root, config_file=root / "ci.toml")[0] == "ci"
    with pytest.raises(ConfigError, match="does not exist"):
        load_project(root, config_file=Path("missing.ini"))


def test_walks_up_to_parent(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = up\n", "sub/x.txt": ""})
    project = load_project(root / "sub")
    assert project.core.root == root
    assert project.envs[0].name == "up"


def test_package_formats(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "pyproject.toml": "[project]\nname='x'\n",
            "tox.ini": """
            [tox]
            env_list = py3{11,12}, lint
            [testenv]
            package_formats =
                sdist
                py312: wheel, editable
            exclude_package_formats = py311: sdist
            [testenv:lint]
            skip_install = true
            package_formats =
        """,
        }
    )
    project = load_project(root)
    assert [s.label for s in project.envs] == ["(sdist) py312", "(wheel) py312", "(editable) py312", "lint"]
    assert project.core.dropped_envs == {"py311": "exclude_package_formats removed every package format"}
    assert [s.format_count for s in project.envs] == [3, 3, 3, 1]
    assert project.envs[-1].package_format == "skip"


@pytest.mark.parametrize(
    ("section", "fmt"),
    [
        ("", "sdist"),
        ("package = wheel", "wheel"),
        ("package = sdist-wheel", "sdist"),
        ("usedevelop = true", "editable"),
        ("package = editable-legacy", "editable"),
        ("skip_install = true", "skip"),
        ("package = deps-only", "skip"),
    ],
)
def test_default_format_from_package(section: str, fmt: str, nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"setup.py": "", "tox.ini": f"[tox]\nenv_list = a\n[testenv]\n{section}\n"})
    assert load_project(root).envs[0].package_format == fmt


@pytest.mark.parametrize(
    ("section", "fmt"),
    [
        ("", "editable"),  # tox-uv's lock runner installs the project editable by default
        ("skip_install = true", "editable"),  # ... and does not read skip_install
        ("package = wheel", "wheel"),
        ("package = uv", "wheel"),
        ("package = uv-editable", "editable"),
        ("package = skip", "skip"),
        ("only_groups = lint", "skip"),  # uv sync --only-group leaves the project out
        ("uv_sync_flags = --no-install-project", "skip"),
        ("uv_sync_flags = --only-group=lint", "skip"),
        ("uv_sync_flags = --only-group lint", "skip"),
        ("uv_sync_flags = --only-dev", "skip"),
        ("uv_sync_flags = --group lint", "editable"),
    ],
)
def test_uv_lock_runner_installs_the_project_as_uv_sync_does(
    section: str, fmt: str, nixtox_project: ProjectFactory
) -> None:
    ini = f"[tox]\nenv_list = a\n[testenv]\nrunner = uv-venv-lock-runner\n{section}\n"
    root = nixtox_project({"pyproject.toml": "[project]\nname = 'p'\n", "tox.ini": ini})
    assert load_project(root).envs[0].package_format == fmt


def test_uv_lock_runner_refuses_a_package_mode_uv_sync_has_not(nixtox_project: ProjectFactory) -> None:
    ini = "[tox]\nenv_list = a\n[testenv]\nrunner = uv-venv-lock-runner\npackage = sdist\n"
    root = nixtox_project({"pyproject.toml": "[project]\nname = 'p'\n", "tox.ini": ini})
    with pytest.raises(
        ConfigError, match=r"tox.ini: \[testenv\] key 'package': 'sdist' is not a package of runner"
    ):
        load_project(root)


def test_skipsdist_means_skip(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"setup.py": "", "tox.ini": "[tox]\nskipsdist = true\nenv_list = a\n"})
    assert load_project(root).envs[0].package_format == "skip"


def test_packagedef_ini_and_toml(nixtox_project: ProjectFactory) -> None:
    ini = nixtox_project(
        {
            "pyproject.toml": "",
            "tox.ini": """
        [tox]
        env_list = a
        [testenv]
        packagedef = fast
        [packagedef:fast]
        format = wheel
        build_interpreter = py312
        build_requires =
            setuptools>=70
            wheel
        config_settings =
            --build-option = --quiet
    """,
        }
    )
    toml = nixtox_project(
        {
            "pyproject.toml": """
        [tool.nixtox]
        env_list = ["a"]
        [tool.nixtox.env_run_base]
        packagedef = "fast"
        [tool.nixtox.packagedef.fast]
        format = "wheel"
        build_interpreter = "py312"
        build_requires = ["setuptools>=70", "wheel"]
        config_settings = {"--build-option" = "--quiet"}
    """
        }
    )
    specs = [load_project(r).envs[0] for r in (ini, toml)]
    assert specs[0].packagedef == specs[1].packagedef
    assert specs[0].packagedef is not None
    assert specs[0].packagedef.build_requires == ("setuptools>=70", "wheel")
    assert specs[0].packagedef.config_settings == (("--build-option", "--quiet"),)
    assert specs[0].package_format == "wheel"
    assert specs[0].build_python == "py312"


def test_unknown_packagedef(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = a\n[testenv:a]\npackagedef = nope\n"})
    with pytest.raises(
        ConfigError, match=r"tox.ini: \[testenv:a\] key 'packagedef': unknown packagedef 'nope'"
    ):
        load_project(root)


def test_native_toml_conditional_list_items(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "nixtox.toml": """
        env_list = ["py311", "py312"]
        [env_run_base]
        deps = ["pytest", "py311: tomli"]
        package_formats = ["wheel", "py312: sdist"]
        commands = [["pytest", "a: b"]]
    """
        }
    )
    project = load_project(root)
    by = {(s.name, s.package_format): s for s in project.envs}
    assert by["py311", "wheel"].config.deps == ("pytest", "tomli")
    assert by["py312", "wheel"].config.deps == ("pytest",)
    assert ("py312", "sdist") in by
    assert by["py311", "wheel"].config.commands == (Command(("pytest", "a: b")),)


def test_base_python_conflict(nixtox_project: ProjectFactory) -> None:
    files = {"tox.ini": "[tox]\nenv_list = py312\n[testenv]\nbase_python = python3.11\n"}
    with pytest.raises(ConfigError, match=r"conflicts with base python python3\.11"):
        load_project(nixtox_project(files))
    files["tox.ini"] = files["tox.ini"].replace("[tox]\n", "[tox]\nignore_base_python_conflict = true\n")
    assert load_project(nixtox_project(files)).envs[0].python == "py312"


def test_base_python_without_conflict(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = py312, lint\n[testenv]\nbasepython = python3.12\n"})
    assert [s.python for s in load_project(root).envs] == ["python3.12", "python3.12"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"tox.ini": "[tox\nx"}, "tox.ini: cannot parse"),
        ({"tox.toml": "env_list = ["}, "tox.toml: invalid TOML"),
        (
            {"tox.ini": "[tox]\nenv_list = py3{11\n"},
            r"tox.ini: \[tox\] key 'env_list': invalid environment name",
        ),
        (
            {"tox.ini": "[testenv]\nskip_install = maybe\n"},
            r"\[testenv\] key 'skip_install': 'maybe' is not a boolean",
        ),
        ({"tox.ini": "[testenv]\nsetenv = novalue\n"}, "is not of the form KEY = value"),
        ({"tox.ini": "[testenv]\npackage_formats = zip\n"}, "unknown package format 'zip'"),
        ({"tox.ini": "[testenv]\npackage = egg\n"}, "key 'package': unknown package format 'egg'"),
        ({"tox.ini": "[tox]\nenv_list = py311-py312\n"}, "conflicting factors"),
        ({"tox.toml": "[env_run_base]\ndeps = [{replace = 'when'}]\n"}, "unsupported replace = 'when'"),
        ({"tox.toml": "[env_run_base]\ndeps = [{replace = 'if'}]\n"}, "replace = 'if' needs condition"),
        (
            {"tox.toml": "[env_run_base]\ndeps = [{replace = 'if', condition = 'a.b', then = 1}]\n"},
            "unsupported namespace 'a'",
        ),
        ({"tox.toml": "[env_base.x]\ndeps = []\n"}, r"\[env_base.x\] requires a 'factors' key"),
        (
            {"tox.ini": "[testenv]\ndeps = a-{factor:db}\n"},
            r"\{factor:LABEL\} substitutions .* not supported",
        ),
        ({"tox.toml": "env = 3\n"}, "must be a table"),
        ({"tox.ini": "[testenv]\ndeps = {[testenv]deps}\n"}, "circular|nests too deep"),
    ],
)
def test_errors_are_one_line(files: dict[str, str], message: str, nixtox_project: ProjectFactory) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_project(nixtox_project(files))
    assert "\n" not in info.value.message


def test_unknown_key_warnings(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "tox.ini": """
        [tox]
        envlist = a
        requires = tox>=4
        min_version = 4
        [testenv]
        depss = pytest
        recreate = true
        wheel_build_env = .pkg
        [testenv:a]
        comands = x
        [flake8]
        whatever = 1
    """
        }
    )
    assert load_project(root).core.warnings == (
        "tox.ini:[testenv]: unknown key 'depss', did you mean 'deps'?",
        "tox.ini:[testenv:a]: unknown key 'comands', did you mean 'commands'?",
    )


def test_toml_and_ini_round_trip(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "tox.ini": """
        [tox]
        env_list = py312, lint
        [testenv]
        description = tests
        deps =
            pytest>=8
            hypothesis
        commands =
            pytest -q
            - coverage report
        set_env =
            A = 1
        pass_env = HOME, CI
        package_formats = sdist wheel
        ignore_outcome = true
        labels = test
    """,
            "tox.toml": """
        env_list = ["py312", "lint"]
        [env_run_base]
        description = "tests"
        deps = ["pytest>=8", "hypothesis"]
        commands = [["pytest", "-q"], ["-", "coverage", "report"]]
        set_env = {A = "1"}
        pass_env = ["HOME", "CI"]
        package_formats = ["sdist", "wheel"]
        ignore_outcome = true
        labels = ["test"]
    """,
        }
    )
    a, b = load_project(root, config_file=Path("tox.ini")), load_project(root, config_file=Path("tox.toml"))
    assert [s.label for s in a.envs] == [s.label for s in b.envs]
    for x, y in zip(a.envs, b.envs, strict=True):
        assert x.config == y.config


def test_packaging_env_sections_are_not_run_envs(nixtox_project: ProjectFactory) -> None:
    ini = "[tox]\nenv_list = a\n[testenv:.pkg]\nset_env = X = 1\n[testenv:lint]\n"
    assert _labels(nixtox_project({"tox.ini": ini})) == ["a", "lint"]
