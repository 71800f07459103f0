"""Shells for real: ``nixtox shell`` (one command, and interactive through a pseudo-terminal),
``nix develop -f .nixtox/default.nix`` and ``nix-shell`` on the rendered shell attribute."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv
from tests.integration.conftest import copy_fixture_project

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
deps = iniconfig
set_env = NIXTOX_TEST_GREETING = hello
commands = python -c "import iniconfig"
"""

PROBE = "import iniconfig, os, sys; print(sys.prefix); print(os.environ.get('NIXTOX_TEST_GREETING', '-'))"


def flake_argv(tmp: Path) -> list[str]:
    """``nix`` with nixtox's options plus what flakes and ``nix develop`` need offline."""
    registry = tmp / "registry.json"
    registry.write_text('{"flakes":[],"version":2}')
    return [
        "nix",
        *nix_options_argv(NixOptions()),
        "--option", "experimental-features", "nix-command flakes",
        "--option", "flake-registry", str(registry),
    ]  # fmt: skip


def run(argv: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=900, **kwargs)  # type: ignore[call-overload, no-any-return]


def nixtox(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "nixtox", *args], root)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_fixture_project("hatchling_proj", tmp_path_factory.mktemp("shells"))
    (root / "tox.ini").write_text(TOX_INI)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


@pytest.fixture(scope="module")
def env_path(project: Path) -> Path:
    """Built by ``nixtox shell`` itself: it realises the env first."""
    proc = nixtox(project, "shell", "py312", "--", "python", "-c", PROBE)
    assert proc.returncode == 0, proc.stderr
    prefix, greeting = proc.stdout.split()
    assert greeting == "hello"
    store_path = (project / ".nixtox" / "gcroots" / "py312").resolve()
    assert prefix == str(store_path)
    return store_path


def test_nixtox_shell_runs_a_command_in_the_env(project: Path, env_path: Path) -> None:
    proc = nixtox(project, "shell", "py312", "--", "python", "-c", PROBE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(env_path), "hello"]
    assert "building" not in proc.stderr  # up to date: no Nix call
    failing = nixtox(project, "shell", "py312", "--", "python", "-c", "raise SystemExit(5)")
    assert failing.returncode == 5


def test_nixtox_shell_unknown_env(project: Path) -> None:
    proc = nixtox(project, "shell", "py399x", "--", "true")
    assert proc.returncode == 2
    assert "error: environments not found in the configuration: py399x" in proc.stderr


def test_rendered_shell_has_the_shape_nix_develop_needs(
    project: Path, env_path: Path, tmp_path: Path
) -> None:
    attrs = "builder outputs PATH VIRTUAL_ENV shellHook"
    expr = f"let s = (import {project}/.nixtox/default.nix {{ }}).py312; in {{ inherit (s) {attrs}; }}"
    proc = run([*flake_argv(tmp_path), "eval", "--impure", "--json", "--expr", expr], project)
    assert proc.returncode == 0, proc.stderr
    attrs = json.loads(proc.stdout)
    assert Path(attrs["builder"]).name == "bash"
    assert attrs["outputs"] == ["out"]
    assert attrs["PATH"].split(":")[0] == f"{env_path}/bin"
    assert attrs["VIRTUAL_ENV"] == str(env_path)
    assert str(env_path) in attrs["shellHook"]


def test_nix_develop_on_the_rendered_file(project: Path, env_path: Path, tmp_path: Path) -> None:
    argv = [
        *flake_argv(tmp_path),
        "develop",
        "-f",
        ".nixtox/default.nix",
        "py312",
        "--command",
        "python",
        "-c",
        PROBE,
    ]
    proc = run(argv, project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == str(env_path)
    assert f"environment nixtox-shell-py312 active ({env_path})" in proc.stderr


def test_nix_shell_on_the_rendered_file(project: Path, env_path: Path) -> None:
    argv = ["nix-shell", *nix_options_argv(NixOptions()), ".nixtox/default.nix", "-A", "shells.py312"]
    proc = run([*argv, "--run", "python -c 'import iniconfig, sys; print(sys.prefix)'"], project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == str(env_path)


def _tmux(*args: str, socket: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-S", str(socket), *args], capture_output=True, text=True, check=False)


def _wait_for(predicate, timeout: float = 60) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_interactive_shell_in_a_terminal_shows_the_prompt_and_exits(
    project: Path, env_path: Path, tmp_path: Path
) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    socket = tmp_path / "tmux.sock"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("PS1='user$ '\n")
    status = tmp_path / "status"
    inner = f"{sys.executable} -m nixtox shell py312; echo $? > {status}"
    env = {"HOME": str(home), "SHELL": "/bin/bash", "PATH": os.environ["PATH"], "TERM": "xterm"}
    started = subprocess.run(
        ["tmux", "-S", str(socket), "new-session", "-d", "-x", "200", "-y", "50", "-c", str(project),
         "env", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", "-c", inner],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:

        def screen() -> str:
            return _tmux("capture-pane", "-p", "-J", socket=socket).stdout

        assert _wait_for(lambda: "(nixtox:py312) user$" in screen()), screen()
        _tmux(
            "send-keys",
            "python -c 'import iniconfig, sys; print(\"PFX=\" + sys.prefix)'",
            "Enter",
            socket=socket,
        )
        assert _wait_for(lambda: f"PFX={env_path}" in screen()), screen()
        _tmux("send-keys", "exit 4", "Enter", socket=socket)
        assert _wait_for(status.exists), screen()
        assert status.read_text().strip() == "4"
    finally:
        _tmux("kill-server", socket=socket)
