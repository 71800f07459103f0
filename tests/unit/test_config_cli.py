"""``nixtox list`` and ``nixtox config`` through nixtox.cli.main (CliRunner) and one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nixtox.cli import cli, main

from .conftest import ProjectFactory

INI = """
[tox]
env_list = py312, lint
[testenv]
description = run tests
deps =
    pytest
    py312: tomli
commands =
    pytest {posargs:tests}
    - coverage report
set_env = A = 1
package_formats =
    py312: sdist wheel
    lint: skip
depss = typo
[testenv:other]
"""


def _run(root: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    cwd = Path.cwd()
    os.chdir(root)
    try:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(nixtox_project: ProjectFactory) -> Path:
    return nixtox_project({"tox.ini": INI})


def test_list(root: Path) -> None:
    code, out, err = _run(root, "list")
    assert code == 0
    assert out == (
        "default environments:\n"
        "(sdist) py312 -> run tests\n"
        "(wheel) py312 -> run tests\n"
        "lint          -> run tests\n"
        "\n"
        "additional environments:\n"
        "other         -> run tests\n"
    )
    assert "warning: tox.ini:[testenv]: unknown key 'depss', did you mean 'deps'?" in err


def test_list_json(root: Path) -> None:
    code, out, _ = _run(root, "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert data[0] == {
        "name": "py312",
        "package_format": "sdist",
        "label": "(sdist) py312",
        "factors": ["py312"],
        "python": "py312",
        "default": True,
        "description": "run tests",
    }
    assert [d["label"] for d in data] == ["(sdist) py312", "(wheel) py312", "lint", "other"]
    assert data[-1]["default"] is False


def test_list_selection(root: Path) -> None:
    assert _run(root, "list", "-e", "lint,other", "--no-desc")[1] == "lint\nother\n"
    assert _run(root, "list", "-f", "py312", "--no-desc")[1] == "(sdist) py312\n(wheel) py312\n"


def test_list_d_shows_the_default_envs_only_as_tox(root: Path) -> None:
    """tox's ``list -d``: the env_list envs; ``--no-desc`` (names only) combines with it."""
    assert _run(root, "list", "-d")[1] == (
        "default environments:\n(sdist) py312 -> run tests\n(wheel) py312 -> run tests\nlint          -> run tests\n"
    )
    assert _run(root, "list", "-d", "--no-desc")[1] == "(sdist) py312\n(wheel) py312\nlint\n"


def test_config_text(root: Path) -> None:
    code, out, _ = _run(
        root, "config", "-e", "py312", "-k", "deps", "-k", "commands", "-k", "package_formats"
    )
    assert code == 0
    assert out == (
        "[testenv:py312]\n"
        "deps =\n  pytest\n  tomli\n"
        "commands =\n  pytest tests\n  - coverage report\n"
        "package_formats =\n  sdist\n  wheel\n"
    )


def test_config_json(root: Path) -> None:
    code, out, _ = _run(root, "config", "--json", "-e", "py312,lint")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["py312", "lint"]
    py = data["py312"]
    assert py["commands"] == [["pytest", "tests"], ["-", "coverage", "report"]]
    assert py["set_env"] == {"A": "1"}
    assert py["package_formats"] == ["sdist", "wheel"]
    assert py["python"] == "py312"
    for key in (
        "deps",
        "allowlist_externals",
        "pass_env",
        "package",
        "exclude_package_formats",
        "base_python",
        "labels",
        "depends",
        "extras",
        "description",
        "change_dir",
        "ignore_outcome",
        "recreate",
    ):
        assert key in py
    assert data["lint"]["package_formats"] == ["skip"]


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({"tox.ini": "[tox]\nenv_list = py3{11\n"}, ["list"], "error: tox.ini: [tox] key 'env_list'"),
        ({"tox.ini": "[tox]\nenv_list = a\n"}, ["list", "-e", "b"], "error: environments not found"),
        ({"tox.ini": "[tox]\nenv_list = a\n"}, ["config", "-e", "zz"], "error: environments not found"),
    ],
)
def test_errors_one_line(
    nixtox_project: ProjectFactory,
    files: dict[str, str],
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = nixtox_project(files)
    cwd = Path.cwd()
    os.chdir(root)
    try:
        code = main(args)
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_subprocess_smoke(root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_"))}
    ok = subprocess.run(
        [sys.executable, "-m", "nixtox", "list", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert [d["label"] for d in json.loads(ok.stdout)][:2] == ["(sdist) py312", "(wheel) py312"]
    bad = subprocess.run(
        [sys.executable, "-m", "nixtox", "list", "-e", "nope"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1].startswith("error: environments not found")
    assert "Traceback" not in bad.stderr
