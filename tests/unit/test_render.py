from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from nixtox.render import env_text, nix_string, render_env, write_default_nix, write_env_file
from tests.unit._values import ATTRS, SDIST_ONLY, locked, spec

GOLDEN = Path(__file__).parent.parent / "fixtures" / "golden"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src" / "demo").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    (root / "src" / "demo" / "__init__.py").write_text("x = 1\n")
    return root


def _normalise(text: str, root: Path) -> str:
    return text.replace(str(root), "/PROJECT")


@pytest.mark.parametrize("fmt", ["wheel", "sdist", "editable", "skip"])
def test_rendered_env_matches_golden_file(project: Path, fmt: str) -> None:
    env = render_env(locked(spec(fmt=fmt), dists=(ATTRS, SDIST_ONLY)), root=project, project_name="demo")
    text = _normalise(env_text(env), project)
    golden = GOLDEN / f"env-{fmt}.nix"
    if os.environ.get("NIXTOX_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_rendering_is_deterministic(project: Path) -> None:
    first = render_env(locked(), root=project, project_name="demo")
    second = render_env(locked(), root=project, project_name="demo")
    assert env_text(first) == env_text(second)
    assert first.fingerprint == second.fingerprint


def test_source_edit_changes_fingerprint_of_wheel_not_editable(project: Path) -> None:
    wheel = render_env(locked(spec(fmt="wheel")), root=project, project_name="demo")
    editable = render_env(locked(spec(fmt="editable")), root=project, project_name="demo")
    (project / "src" / "demo" / "__init__.py").write_text("x = 2\n")
    assert render_env(locked(spec(fmt="wheel")), root=project, project_name="demo").fingerprint != (
        wheel.fingerprint
    )
    assert render_env(locked(spec(fmt="editable")), root=project, project_name="demo").fingerprint == (
        editable.fingerprint
    )


def test_metadata_edit_changes_editable_fingerprint(project: Path) -> None:
    before = render_env(locked(spec(fmt="editable")), root=project, project_name="demo").fingerprint
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "2"\n')
    after = render_env(locked(spec(fmt="editable")), root=project, project_name="demo").fingerprint
    assert before != after


def test_ignored_directories_do_not_change_fingerprint(project: Path) -> None:
    before = render_env(locked(), root=project, project_name="demo").fingerprint
    for junk in (".git/HEAD", ".nixtox/state.json", "src/demo/__pycache__/x.pyc", ".tox/log"):
        (project / junk).parent.mkdir(parents=True, exist_ok=True)
        (project / junk).write_text("junk")
    assert render_env(locked(), root=project, project_name="demo").fingerprint == before


def test_dependency_change_changes_fingerprint(project: Path) -> None:
    before = render_env(locked(), root=project, project_name="demo").fingerprint
    after = render_env(locked(dists=(ATTRS, SDIST_ONLY)), root=project, project_name="demo").fingerprint
    assert before != after


@pytest.mark.parametrize("value", ['a"b', "${x}", "back\\slash", "new\nline", "plain"])
def test_nix_string_escapes(value: str) -> None:
    literal = nix_string(value)
    assert literal.startswith('"')
    assert literal.endswith('"')
    assert "${" not in literal.replace("\\${", "")
    assert re.search(r'(?<!\\)"', literal[1:-1]) is None


def test_default_nix_lists_every_env_file(tmp_path: Path) -> None:
    write_env_file(tmp_path, "py312", "{ lib }: { }\n")
    write_env_file(tmp_path, "py311", "{ lib }: { }\n")
    text = write_default_nix(tmp_path).read_text()
    assert text.index('"py311" = import (./nix + "/py311.nix")') < text.index(
        '"py312" = import (./nix + "/py312.nix")'
    )


def test_default_nix_joins_only_the_projects_envs_and_valid_names(tmp_path: Path) -> None:
    """A stale file (an env renamed away, a name Nix cannot hold) must not break the other envs."""
    for key in ("py312", "gone", "caf\u00e9"):
        write_env_file(tmp_path, key, "{ lib }: { }\n")
    text = write_default_nix(tmp_path, ["py312", "caf\u00e9"]).read_text()
    assert '"py312" = import' in text
    assert "gone" not in text
    assert "caf" not in text
