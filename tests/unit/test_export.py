"""``nixtox export``: the rendered file (relative source, placeholders, fallbacks, determinism), the CLI."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from nixtox.cli import cli
from nixtox.config import load_project
from nixtox.export import LIBRARY_DIR, LIBRARY_GITIGNORE, git_ignored, relative_nix_path, render_export
from nixtox.model import EnvResult, Envs, EnvSpec, LockedEnv, Project, Status
from nixtox.render import nix_library_path
from tests.unit._values import PY312, locked

from .conftest import ProjectFactory

TOX_INI = """\
[tox]
env_list = py312, dev

[testenv]
deps = attrs
set_env =
    DATA = {toxinidir}/data
change_dir = tests
commands_pre = python -c pass
commands =
    pytest {toxinidir}/tests --basetemp={envtmpdir}
    - python -c "import sys; sys.exit(3)"

[testenv:dev]
package = editable
commands = python -c "print('dev')"
"""


@pytest.fixture
def project(nixtox_project: ProjectFactory) -> Project:
    root = nixtox_project({"tox.ini": TOX_INI, "pyproject.toml": "[project]\nname = 'demo'\nversion = '1'\n"})
    return load_project(root)


def _locked_all(project: Project) -> list[LockedEnv]:
    return [dataclasses.replace(locked(spec), spec=spec) for spec in project.envs]


def _render(project: Project, output: str = "nix/nixtox-envs.nix") -> str:
    text, _ = render_export(
        project, _locked_all(project), output=project.core.root / output, project_name="demo"
    )
    return text


@pytest.mark.parametrize(
    ("target", "start", "expected"),
    [
        ("/p", "/p/nix", "../."),
        ("/p", "/p", "./."),
        ("/p", "/p/a/b", "../.."),
        ("/p/sub", "/p/nix", "./../sub"),
        ("/p/my dir", "/p", '(./. + "/my dir")'),
    ],
)
def test_relative_nix_path(target: str, start: str, expected: str) -> None:
    assert relative_nix_path(Path(target), Path(start)) == expected


def test_export_is_relocatable(project: Project) -> None:
    text = _render(project)
    root = str(project.core.root)
    assert root not in text  # no host path of the project: commands use placeholders
    assert "src = lib.projectSource { path = ../.; };" in text
    assert f"lib = import ./{LIBRARY_DIR} {{ inherit system; }};" in text
    assert "source = src;" in text  # the package builds from the relative source
    assert "system ? builtins.currentSystem," in text
    assert "pkgs ? null," in text


def test_export_commands_become_check_arguments(project: Project) -> None:
    text = _render(project)
    assert '{ phase = "commands_pre"; argv = [ "python" "-c" "pass" ]; }' in text
    assert '"pytest" "@projectRoot@/tests" "--basetemp=@envDir@/tmp"' in text
    assert 'argv = [ "python" "-c" "import sys; sys.exit(3)" ]; ignoreExitCode = true; }' in text
    assert '"DATA" = "@projectRoot@/data";' in text
    assert 'changeDir = "tests";' in text
    assert 'envName = "py312";' in text


def test_export_falls_back_from_editable_to_wheel(project: Project) -> None:
    text, fallbacks = render_export(
        project, _locked_all(project), output=project.core.root / "nix/e.nix", project_name="demo"
    )
    assert fallbacks == ("dev",)
    assert "# dev: editable in the config, exported as a wheel env" in text
    assert 'format = "editable"' not in text
    assert "projectRoot =" not in text


def test_export_is_deterministic(project: Project) -> None:
    assert _render(project) == _render(project)


def test_export_prefers_the_given_pkgs_for_nixpkgs_interpreters(project: Project) -> None:
    nixpkgs_python = dataclasses.replace(
        PY312, provider="nixpkgs", nix_attr="python312", nixpkgs="/some/nixpkgs"
    )
    envs = [dataclasses.replace(e, interpreter=nixpkgs_python) for e in _locked_all(project)]
    text, _ = render_export(project, envs, output=project.core.root / "nix/e.nix", project_name="demo")
    assert 'if pkgs != null then pkgs else import "/some/nixpkgs" { inherit system; }).python312' in text
    assert "(import (/. + " not in text


def _fake_lock(monkeypatch: pytest.MonkeyPatch, *, error: str | None = None) -> None:
    def lock_all(envs: Envs[EnvSpec], _policy: object) -> Envs[LockedEnv]:
        if error is not None:
            done = {
                s.key: EnvResult(spec=s, status=Status.ERROR, reason=error, exit_code=1) for s in envs.live
            }
            return Envs(envs.project, envs.selected, (), done)
        live = tuple(dataclasses.replace(globals()["locked"](spec), spec=spec) for spec in envs.live)
        return Envs(envs.project, envs.selected, live)

    monkeypatch.setattr("nixtox.export.lock_stage", lock_all)


def test_cli_writes_the_file_and_the_library_copy(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lock(monkeypatch)
    root = project.core.root
    result = CliRunner().invoke(cli, ["export", "--root", str(root), "-e", "py312"])
    assert result.exit_code == 0, result.output
    exported = root / "nix" / "nixtox-envs.nix"
    first = exported.read_bytes()
    assert b'"py312" = (' in first
    assert b'"dev" = (' not in first
    library = root / "nix" / LIBRARY_DIR
    for rel in (
        "default.nix",
        "lib/python.nix",
        "lib/check.nix",
        "builders/mk_env.py",
        "checks/run_check.py",
    ):
        assert (library / rel).read_bytes() == (nix_library_path() / rel).read_bytes()
    (library / "stale.nix").write_text("old")
    again = CliRunner().invoke(cli, ["export", "--root", str(root), "-e", "py312"])
    assert again.exit_code == 0, again.output
    assert exported.read_bytes() == first
    assert not (library / "stale.nix").exists()


def test_cli_custom_output_and_editable_note(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lock(monkeypatch)
    root = project.core.root
    result = CliRunner().invoke(cli, ["export", "--root", str(root), "-e", "dev", "-o", "envs.nix"])
    assert result.exit_code == 0, result.output
    assert "dev: editable envs are exported as wheel envs" in result.output
    text = (root / "envs.nix").read_text()
    assert "src = lib.projectSource { path = ./.; };" in text
    assert "import ./envs.nix { system" in text


def test_cli_refuses_a_non_nix_output(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lock(monkeypatch)
    result = CliRunner().invoke(cli, ["export", "--root", str(project.core.root), "-o", "envs.txt"])
    assert result.exit_code == 2
    assert "must be a .nix file" in result.output


def test_cli_env_that_fails_to_lock(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lock(monkeypatch, error="no interpreter for py312")
    result = CliRunner().invoke(cli, ["export", "--root", str(project.core.root), "-e", "py312"])
    assert result.exit_code == 2
    assert "error: cannot export: py312: no interpreter for py312" in result.output
    assert not (project.core.root / "nix").exists()


def test_cli_unknown_env(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lock(monkeypatch)
    result = CliRunner().invoke(cli, ["export", "--root", str(project.core.root), "-e", "nope"])
    assert result.exit_code == 2
    assert "environments not found" in result.output


def test_export_never_reads_the_users_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nixtox.config import load_project
    from nixtox.export import EXPORT_ENVIRON, _environment_dependent

    (tmp_path / "tox.ini").write_text(
        "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\n"
        "set_env = TOKEN = {env:MY_TOKEN:none}\ncommands = python -c pass\n"
    )
    monkeypatch.setenv("MY_TOKEN", "s3cret-value")
    exported = load_project(tmp_path, environ=EXPORT_ENVIRON)
    as_run = load_project(tmp_path)
    assert dict(exported.envs[0].config.set_env)["TOKEN"] == "none"
    assert dict(as_run.envs[0].config.set_env)["TOKEN"] == "s3cret-value"
    assert _environment_dependent(exported, as_run) == {"py312": ("set_env",)}


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout


def test_a_project_gitignore_never_keeps_library_files_out_of_git(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library copy carries its own ``.gitignore``: rules of the project that match library paths
    (``lib``, ``*.py``) do not apply inside it, so ``git add nix/`` takes every file a flake needs."""
    _fake_lock(monkeypatch)
    root = project.core.root
    _git(root, "init", "-q")
    (root / ".gitignore").write_text("lib\n*.py\n")
    result = CliRunner().invoke(cli, ["export", "--root", str(root), "-e", "py312"])
    assert result.exit_code == 0, result.output
    assert "git ignores" not in result.output
    library = root / "nix" / LIBRARY_DIR
    assert (library / ".gitignore").read_text() == LIBRARY_GITIGNORE
    _git(root, "add", "nix/")
    tracked = set(_git(root, "ls-files", "nix").split())
    written = {p.relative_to(root).as_posix() for p in (root / "nix").rglob("*") if p.is_file()}
    assert tracked == written
    assert "nix/nixtox-lib/lib/python.nix" in tracked
    assert "nix/nixtox-lib/builders/mk_env.py" in tracked


def test_files_git_still_ignores_are_one_warning_with_the_rule(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_lock(monkeypatch)
    root = project.core.root
    _git(root, "init", "-q")
    (root / ".gitignore").write_text("# generated\nnix/\n")
    result = CliRunner().invoke(cli, ["export", "--root", str(root), "-e", "py312"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: git ignores")]
    assert len(warnings) == 1
    assert "(nix/nixtox-envs.nix: .gitignore:2:nix/)" in warnings[0]
    assert "git add -f" in warnings[0]
    assert git_ignored([root / "tox.ini"], root) == {}
    assert git_ignored([root / "nix" / "x.nix"], root.parent) == {}  # not a checkout: nothing to say
