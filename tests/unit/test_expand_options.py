"""What the command line decides in the expand stage (``ExpandOptions``), as tox's options do."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixtox.config import ExpandOptions, load_project
from nixtox.model import Project
from nixtox.plugins import INSTALLPKG_FORMAT

from .conftest import ProjectFactory

INI = """
[tox]
env_list = py312, lint, multi
[testenv]
deps = pytest
extras = test
commands = python -c 'print("{work_dir} {env_dir} {temp_dir}")'
[testenv:lint]
skip_install = true
[testenv:multi]
package_formats = sdist wheel
skip_missing_interpreters = false
"""


@pytest.fixture
def root(nixtox_project: ProjectFactory) -> Path:
    return nixtox_project({"tox.ini": INI, "pyproject.toml": '[project]\nname = "demo"\nversion = "1"\n'})


def _load(root: Path, **given: object) -> Project:
    return load_project(root, given=ExpandOptions(**given))  # type: ignore[arg-type]


def _formats(project: Project) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for spec in project.envs:
        out.setdefault(spec.name, []).append(spec.package_format)
    return out


def test_work_dir_is_one_value_every_path_follows(root: Path, tmp_path: Path) -> None:
    default = _load(root)
    assert default.core.work_dir == root / ".nixtox"
    work = tmp_path / "elsewhere"
    project = _load(root, work_dir=work)
    assert project.core.work_dir == work
    spec = project.envs[0]
    assert spec.env_dir == work / "envs" / "py312"
    assert spec.config.commands[0].argv[-1] == f'print("{work} {work / "envs" / "py312"} {work / ".tmp"}")'


def test_a_relative_work_dir_is_relative_to_the_cwd(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root.parent)
    assert _load(root, work_dir=Path("w")).core.work_dir == root.parent / "w"


def test_develop_makes_every_packaged_env_editable(root: Path) -> None:
    assert _formats(_load(root)) == {"py312": ["sdist"], "lint": ["skip"], "multi": ["sdist", "wheel"]}
    assert _formats(_load(root, develop=True)) == {
        "py312": ["editable"],
        "lint": ["skip"],
        "multi": ["editable"],
    }


def test_skip_pkg_install_installs_no_package(root: Path) -> None:
    assert _formats(_load(root, skip_pkg_install=True)) == {
        "py312": ["skip"],
        "lint": ["skip"],
        "multi": ["skip"],
    }


def test_installpkg_installs_the_file_with_the_extras(root: Path, tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1-py3-none-any.whl"
    wheel.write_bytes(b"zip")
    project = _load(root, install_pkg=wheel)
    assert _formats(project) == {"py312": ["installpkg"], "lint": ["skip"], "multi": ["installpkg"]}
    py312 = project.envs[0]
    assert py312.format is INSTALLPKG_FORMAT
    assert not py312.installs_package  # the tree is neither built nor resolved
    assert py312.config.package == "external"  # tox's package value for --installpkg
    assert py312.config.deps == ("pytest", f"{wheel}[test]")
    lint = next(s for s in project.envs if s.name == "lint")
    assert lint.config.deps == ("pytest",)  # skip_install: tox ignores --installpkg there


def test_skip_missing_interpreters_from_the_command_line_wins(root: Path) -> None:
    default = _load(root)
    assert not default.core.skip_missing_interpreters
    forced = _load(root, skip_missing_interpreters=True)
    assert forced.core.skip_missing_interpreters
    assert all(spec.config.skip_missing_interpreters for spec in forced.envs)  # multi sets false itself
    assert not any(
        s.config.skip_missing_interpreters for s in _load(root, skip_missing_interpreters=False).envs
    )


def test_only_requirement_changing_options_are_one_off_for_the_lock(tmp_path: Path) -> None:
    assert not ExpandOptions(work_dir=tmp_path, skip_missing_interpreters=True).changes_requirements
    assert ExpandOptions(develop=True).changes_requirements
    assert ExpandOptions(install_pkg=tmp_path).changes_requirements
    assert ExpandOptions(skip_pkg_install=True).changes_requirements
