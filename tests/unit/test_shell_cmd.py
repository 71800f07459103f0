"""``nixtox shell``: env choice, the shell's environment and prompt, exit codes and errors (no Nix)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from nixtox.cli import cli
from nixtox.cli.shell_cmd import choose_env, interactive_shell, prompt_marker, shell_environ
from nixtox.config import load_project
from nixtox.errors import EnvSelectionError
from nixtox.model import EnvResult, Envs, RealisedEnv, RenderedEnv, Status
from tests.unit._values import locked

from .conftest import ProjectFactory

TOX_INI = """\
[tox]
env_list = py312, lint

[testenv]
package_formats =
    py312: sdist wheel
set_env = GREETING=hello
commands = python -c pass

[testenv:lint]
skip_install = true
"""


@pytest.fixture
def project_root(nixtox_project: ProjectFactory) -> Path:
    return nixtox_project({"tox.ini": TOX_INI})


def test_choose_env_by_plain_name(project_root: Path) -> None:
    spec = choose_env(load_project(project_root), "lint", None)
    assert (spec.name, spec.key) == ("lint", "lint")


def test_choose_env_by_format_key_or_option(project_root: Path) -> None:
    project = load_project(project_root)
    assert choose_env(project, "py312-sdist", None).package_format == "sdist"
    assert choose_env(project, "py312", "wheel").key == "py312-wheel"


def test_choose_env_with_several_formats_needs_one(project_root: Path) -> None:
    with pytest.raises(
        EnvSelectionError, match=r"py312 has several package formats: name one \(py312-sdist, py312-wheel\)"
    ):
        choose_env(load_project(project_root), "py312", None)


def test_choose_env_unknown_format_or_env(project_root: Path) -> None:
    project = load_project(project_root)
    with pytest.raises(EnvSelectionError, match="py312 has no package format 'editable'"):
        choose_env(project, "py312", "editable")
    with pytest.raises(EnvSelectionError, match="not found"):
        choose_env(project, "nosuchenv", None)
    with pytest.raises(EnvSelectionError, match="one env"):
        choose_env(project, "py312,lint", None)


def test_shell_environ_puts_env_first_and_keeps_callers_variables(project_root: Path, tmp_path: Path) -> None:
    spec = choose_env(load_project(project_root), "py312-wheel", None)
    store = Path("/nix/store/x-env")
    environ = shell_environ(
        spec,
        store_path=store,
        env_dir=tmp_path,
        environ={"PATH": "/usr/bin", "MY_TOKEN": "s3cret", "PYTHONHOME": "/elsewhere"},
    )
    assert environ["PATH"] == f"{store}/bin{os.pathsep}/usr/bin"
    assert environ["VIRTUAL_ENV"] == str(store)
    assert environ["NIXTOX_ENV_NAME"] == "py312"
    assert environ["NIXTOX_ENV_KEY"] == "py312-wheel"
    assert environ["GREETING"] == "hello"
    assert environ["MY_TOKEN"] == "s3cret"  # an interactive shell is the user's own terminal
    assert "PYTHONHOME" not in environ
    assert "PYTHONHASHSEED" not in environ


def test_bash_gets_an_rcfile_with_the_prompt_marker(project_root: Path, tmp_path: Path) -> None:
    spec = choose_env(load_project(project_root), "lint", None)
    argv, environ = interactive_shell(tmp_path, spec, {"SHELL": "/bin/bash", "PATH": "/env/bin:/usr/bin"})
    assert argv[:2] == ["/bin/bash", "--rcfile"]
    assert argv[-1] == "-i"
    rc = Path(argv[2]).read_text()
    assert ".bashrc" in rc
    assert "export PATH=/env/bin:/usr/bin" in rc
    assert "PS1='(nixtox:lint) '" in rc
    assert "PS1" not in environ  # set by the rc file, after ~/.bashrc


def test_other_shells_get_the_marker_in_ps1(project_root: Path, tmp_path: Path) -> None:
    spec = choose_env(load_project(project_root), "lint", None)
    argv, environ = interactive_shell(tmp_path, spec, {"SHELL": "/bin/dash", "PS1": "$ "})
    assert argv == ["/bin/dash", "-i"]
    assert environ["PS1"] == f"{prompt_marker(spec)}$ " == "(nixtox:lint) $ "


def _fake_prepare(monkeypatch: pytest.MonkeyPatch, store: Path, *, error: str | None = None) -> list[str]:
    calls: list[str] = []

    def prepare(options, **_kwargs):  # type: ignore[no-untyped-def]
        project = load_project(options.path)
        specs = tuple(s for s in project.envs if s.name == options.selection.env)
        calls.extend(s.key for s in specs)
        if error is not None:
            done = {s.key: EnvResult(spec=s, status=Status.ERROR, reason=error, exit_code=1) for s in specs}
            return Envs(project, specs, (), done)
        ready = tuple(
            RealisedEnv(RenderedEnv(locked(s), f"envs.{s.key}", "f"), store, None, cached=True) for s in specs
        )
        return Envs(project, specs, ready)

    monkeypatch.setattr("nixtox.cli.shell_cmd.prepare_envs", prepare)
    return calls


@pytest.fixture
def fake_env(tmp_path: Path) -> Path:
    store = tmp_path / "store-env"
    (store / "bin").mkdir(parents=True)
    tool = store / "bin" / "env-tool"
    tool.write_text('#!/bin/sh\necho "tool in $VIRTUAL_ENV, GREETING=$GREETING"\nexit 7\n')
    tool.chmod(0o755)
    return store


def test_cli_runs_one_command_in_the_env_and_returns_its_exit_code(
    project_root: Path, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_prepare(monkeypatch, fake_env)
    result = CliRunner().invoke(cli, ["shell", "--root", str(project_root), "lint", "--", "env-tool", "-x"])
    assert calls == ["lint"]
    assert result.exit_code == 7, result.output


def test_cli_reports_a_missing_command(
    project_root: Path, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_prepare(monkeypatch, fake_env)
    result = CliRunner().invoke(
        cli, ["shell", "--root", str(project_root), "lint", "--", "no-such-program-xyz"]
    )
    assert result.exit_code == 127
    assert "'no-such-program-xyz' not found" in result.output


def test_cli_unknown_env_is_one_error_line(
    project_root: Path, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_prepare(monkeypatch, fake_env)
    result = CliRunner().invoke(cli, ["shell", "--root", str(project_root), "lnit", "--", "true"])
    assert result.exit_code == 2
    assert "environments not found in the configuration: lnit" in result.output
    assert calls == []  # nothing built


def test_cli_env_that_failed_to_build(
    project_root: Path, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_prepare(monkeypatch, fake_env, error="building hatchling-proj-wheel failed")
    result = CliRunner().invoke(cli, ["shell", "--root", str(project_root), "lint", "--", "true"])
    assert result.exit_code == 2
    assert "error: env lint is not available: building hatchling-proj-wheel failed" in result.output


def test_cli_several_formats_without_choice(
    project_root: Path, fake_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_prepare(monkeypatch, fake_env)
    result = CliRunner().invoke(cli, ["shell", "--root", str(project_root), "py312", "--", "true"])
    assert result.exit_code == 2
    assert "--format sdist or wheel" in result.output


def test_cli_format_option_picks_the_key(
    project_root: Path, fake_env: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _fake_prepare(monkeypatch, fake_env)
    argv = [
        "shell",
        "--root",
        str(project_root),
        "--format",
        "sdist",
        "py312",
        "--",
        "sh",
        "-c",
        "echo $NIXTOX_ENV_KEY",
    ]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    assert capfd.readouterr().out.strip() == "py312-sdist"  # the child writes to the real stdout


def test_cli_needs_an_env() -> None:
    result = CliRunner().invoke(cli, ["shell"])
    assert result.exit_code == 2
    assert "Missing argument 'ENV'" in result.output
