"""Reading the project's pyproject.toml: static/dynamic metadata, extras, PEP 735 groups, build system."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nixtox.errors import ConfigError
from nixtox.pyproject import DEFAULT_BUILD_REQUIRES, dependency_group, read_pyproject


def write(root: Path, text: str) -> Path:
    (root / "pyproject.toml").write_text(textwrap.dedent(text))
    return root


def test_static_metadata(tmp_path: Path) -> None:
    meta = read_pyproject(
        write(
            tmp_path,
            """
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            [project]
            name = "Demo_Pkg"
            version = "1"
            dependencies = ["attrs>=22"]
            [project.optional-dependencies]
            test = ["pytest", "demo-pkg[cov]"]
            cov = ["coverage"]
            """,
        )
    )
    assert meta.static
    assert meta.build_requires == ("hatchling",)
    assert meta.build_backend == "hatchling.build"
    assert meta.requirements(("test",)) == ("attrs>=22", "pytest", "coverage")
    with pytest.raises(ConfigError, match="extra 'docs' is not in"):
        meta.requirements(("docs",))


def test_dynamic_dependencies(tmp_path: Path) -> None:
    meta = read_pyproject(write(tmp_path, '[project]\nname = "d"\ndynamic = ["version", "dependencies"]\n'))
    assert not meta.static
    assert meta.dependencies is None
    assert meta.build_requires == DEFAULT_BUILD_REQUIRES


def test_no_pyproject_is_a_legacy_setuptools_project(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("from setuptools import setup; setup()\n")
    meta = read_pyproject(tmp_path)
    assert meta.name is None
    assert not meta.static
    assert meta.build_backend == "setuptools.build_meta:__legacy__"
    before = meta.metadata_digest
    (tmp_path / "setup.py").write_text("from setuptools import setup; setup(install_requires=['x'])\n")
    assert read_pyproject(tmp_path).metadata_digest != before


def test_dependency_groups_with_includes(tmp_path: Path) -> None:
    meta = read_pyproject(
        write(
            tmp_path,
            """
            [dependency-groups]
            test = ["pytest", {include-group = "Typing"}]
            typing = ["mypy"]
            all = [{include-group = "test"}, {include-group = "typing"}, "ruff"]
            loop-a = [{include-group = "loop-b"}]
            loop-b = [{include-group = "loop-a"}]
            """,
        )
    )
    assert dependency_group(meta, "test") == ("pytest", "mypy")
    assert dependency_group(meta, "all") == ("pytest", "mypy", "ruff")
    with pytest.raises(ConfigError, match="include cycle: loop-a -> loop-b -> loop-a"):
        dependency_group(meta, "loop-a")
    with pytest.raises(ConfigError, match="dependency group 'docs' is not defined"):
        dependency_group(meta, "docs")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pyproject.toml: not valid TOML"):
        read_pyproject(write(tmp_path, "[project\n"))
