"""A tox 4 user's command lines through ``nixtox.cli.main``: the global options before or after the
subcommand, the run flags reaching RunOptions, argument errors as tox's, and the new commands
(``depends``, ``exec``, ``devenv``) on a fake build."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nixtox.cli import main
from nixtox.config import load_project
from nixtox.model import Envs, Project, RealisedEnv, RenderedEnv
from nixtox.session import RunOptions, SessionResult
from tests.unit._values import locked

from .conftest import ProjectFactory

INI = """
[tox]
env_list = py312, lint
labels =
    check = lint
[testenv]
description = tests
deps = pytest
allowlist_externals = sh
commands = pytest {posargs}
[testenv:lint]
skip_install = true
deps = ruff
commands = ruff check
[testenv:cover]
depends = py312, lint
skip_install = true
"""


@pytest.fixture
def root(nixtox_project: ProjectFactory) -> Path:
    return nixtox_project({"tox.ini": INI, "pyproject.toml": '[project]\nname = "demo"\nversion = "1"\n'})


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[RunOptions]:
    """``nixtox run`` with its session replaced: the RunOptions the command line gave."""
    seen: list[RunOptions] = []

    def fake(options: RunOptions, **_: object) -> SessionResult:
        seen.append(options)
        project = Project(core=None, envs=())  # type: ignore[arg-type]
        return SessionResult(project, (), 0.0)

    monkeypatch.setattr("nixtox.cli.run_cmd.run_session", fake)
    return seen


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_global_options_before_run_are_not_posargs(
    root: Path, captured: list[RunOptions], capsys: pytest.CaptureFixture[str]
) -> None:
    _main(capsys, "-c", str(root / "tox.ini"), "run", "-e", "py312")
    _main(capsys, "--root", str(root), "run", "-e", "lint", "--", "x", "y")
    _main(capsys, "--root", str(root), "-e", "lint", "-x", "testenv.deps+=a", "-q")  # no subcommand: run
    first, second, third = captured
    assert first.config_file == root / "tox.ini"
    assert first.posargs is None
    assert second.path == root
    assert second.posargs == ("x", "y")
    assert [str(o) for o in third.expand.overrides] == ["testenv.deps+=a"]
    assert not third.lock.write  # a one-off config: nixtox.lock is left as it is


def test_run_flags_reach_the_run_options(
    root: Path, captured: list[RunOptions], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wheel = tmp_path / "demo-1-py3-none-any.whl"
    wheel.write_bytes(b"zip")
    _main(
        capsys, "--root", str(root), "run", "-n", "-s", "--develop", "--installpkg", str(wheel),
        "--skip-env-install", "--hashseed", "notset", "--workdir", str(tmp_path / "w"),
    )  # fmt: skip
    _main(
        capsys,
        "--root",
        str(root),
        "p",
        "-p",
        "all",
        "--skip-pkg-install",
        "-s",
        "false",
        "--parallel-no-spinner",
    )
    run, parallel = captured
    assert (run.no_test, run.skip_env_install, run.hash_seed) == (True, True, "notset")
    assert run.expand.skip_missing_interpreters is True
    assert run.expand.develop
    assert run.expand.install_pkg == wheel
    assert run.expand.work_dir == tmp_path / "w"
    assert parallel.parallel == "all"
    assert parallel.expand.skip_pkg_install
    assert parallel.expand.skip_missing_interpreters is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--hashseed", "abc"],
            "Invalid value for --hashseed: 'abc' is not an integer in [1, 4294967295]",
        ),
        (["run", "--hashseed", "0"], "is not an integer in [1, 4294967295] nor notset"),
        (["run", "-x", "deps"], "Invalid value for -x/--override: override deps has no = sign in it"),
        (["run", "--installpkg", "nope.whl"], "nope.whl does not exist"),
        (["run", "-p", "many"], "use auto, all, 0 or a number of envs"),
        (["run", "-r", "--skip-env-install"], "-r rebuilds the envs, --skip-env-install reuses them"),
        (["--exit-and-dump-after", "-1", "list"], "use a number of seconds"),
        (["-r", "list"], "No such option '-r'"),  # an option the command does not have is refused
    ],
)
def test_argument_errors_are_usage_errors(
    root: Path, captured: list[RunOptions], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _out, err = _main(capsys, "--root", str(root), *args)
    assert code == 2
    assert message in err
    assert captured == []


def test_options_after_or_before_list_and_config(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    after = _main(capsys, "list", "--root", str(root), "-m", "check", "--no-desc")
    before = _main(capsys, "--root", str(root), "-m", "check", "--no-desc", "list")
    assert after == before == (0, "lint\n", "")
    code, out, _ = _main(
        capsys, "-x", "testenv:lint.deps+=black", "--root", str(root), "c", "-e", "lint", "-k", "deps"
    )
    assert (code, out) == (0, "[testenv:lint]\ndeps =\n  ruff\n  black\n")


def test_quiet_hides_warnings_everywhere(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "tox.ini").write_text(INI + "depz = typo\n")
    assert "warning:" in _main(capsys, "--root", str(root), "list")[2]
    assert _main(capsys, "-q", "--root", str(root), "list")[2] == ""
    assert _main(capsys, "--root", str(root), "config", "-q", "-e", "lint")[2] == ""


def test_depends_prints_what_tox_depends_prints(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _main(capsys, "--root", str(root), "depends")
    assert code == 0
    assert out == (
        "Execution order: py312, lint, cover\n"
        "ALL\n"
        "   py312 ~ sdist\n"
        "   lint\n"
        "   cover\n"
        "      py312 ~ sdist\n"
        "      lint\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_"))}
    tox = subprocess.run(
        [sys.executable, "-m", "tox", "depends"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # tox names the packaging env (.pkg) where nixtox names the package format
    assert tox.stdout.replace(" ~ .pkg", " ~ sdist") == out


# --- exec and devenv, on a fake build -------------------------------------------------------------------


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[RunOptions]]:
    """``prepare_envs`` replaced by a fake build: every selected env is the store dir ``store-env``."""
    store = tmp_path / "store-env"
    (store / "bin").mkdir(parents=True)
    (store / "bin" / "env-tool").write_text(
        '#!/bin/sh\necho "tool $TOX_ENV_NAME seed=${PYTHONHASHSEED-unset} $(pwd)"\nexit 5\n'
    )
    (store / "bin" / "env-tool").chmod(0o755)
    (store / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (store / "pyvenv.cfg").write_text("home = /x\n")
    seen: list[RunOptions] = []

    def prepare(options: RunOptions, **_: object) -> Envs[RealisedEnv]:
        seen.append(options)
        project = load_project(options.path, given=options.expand)
        specs = tuple(s for s in project.envs if s.key in options.selection.keys)
        ready = tuple(
            RealisedEnv(RenderedEnv(locked(s), f"envs.{s.key}", "f"), store, None, cached=True) for s in specs
        )
        return Envs(project, specs, ready)

    monkeypatch.setattr("nixtox.cli.shell_cmd.prepare_envs", prepare)

    def add_root(_nix: object, path: Path, link: Path) -> None:  # as the real one: replaces the link
        link.unlink(missing_ok=True)
        link.symlink_to(path)

    monkeypatch.setattr("nixtox.nix.RealNix.add_root", add_root)
    return store, seen


def test_exec_runs_one_command_as_the_envs_commands_run(
    root: Path, fake_env: tuple[Path, list[RunOptions]], capfd: pytest.CaptureFixture[str]
) -> None:
    code = main(["exec", "--root", str(root), "-e", "py312", "--hashseed", "9", "--", "env-tool", "a"])
    out, err = capfd.readouterr()
    assert code == 5  # the command's exit code
    assert out == f"tool py312 seed=9 {root}\n"  # tox's environment, in change_dir
    assert "py312: exec> env-tool a" in err
    assert fake_env[1][0].selection.keys == ("py312",)


def test_exec_refuses_a_program_outside_the_env_and_the_allowlist(
    root: Path, fake_env: tuple[Path, list[RunOptions]], capfd: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(root), "exec", "-e", "lint", "--", "ls", "/"])
    _out, err = capfd.readouterr()
    assert code == 1
    assert "not in allowlist_externals" in err
    assert main(["--root", str(root), "exec", "-e", "py312", "--", "sh", "-c", "exit 3"]) == 3


def test_exec_needs_a_command(
    root: Path, fake_env: tuple[Path, list[RunOptions]], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = _main(capsys, "--root", str(root), "exec", "-e", "py312")
    assert code == 2
    assert "give the command after --" in err


def test_devenv_links_an_editable_env_at_the_path(
    root: Path, fake_env: tuple[Path, list[RunOptions]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store, seen = fake_env
    target = tmp_path / "dev"
    code, out, _ = _main(capsys, "--root", str(root), "devenv", "-e", "py312", str(target))
    assert code == 0, out
    assert f"created development environment under {target}" in out
    assert (target / "bin").resolve() == store / "bin"
    assert (target / "site-packages").resolve() == store / "lib" / "python3.12" / "site-packages"
    assert (target / ".nixtox-gcroot").resolve() == store
    assert seen[0].expand.develop  # the package editable, as tox's devenv
    assert not seen[0].lock.write
    assert _main(capsys, "--root", str(root), "devenv", "-e", "py312", str(target))[0] == 0  # again: updated


def test_devenv_never_takes_over_a_directory_it_did_not_make(
    root: Path, fake_env: tuple[Path, list[RunOptions]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    code, _out, err = _main(capsys, "--root", str(root), "devenv", str(mine))
    assert code == 2
    assert "is not empty and not a devenv nixtox made" in err
    assert fake_env[1] == []


def test_devenv_takes_one_env(
    root: Path, fake_env: tuple[Path, list[RunOptions]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _out, err = _main(capsys, "--root", str(root), "devenv", "-e", "py312,lint", str(tmp_path / "d"))
    assert code == 2
    assert "takes one env" in err


def test_exit_and_dump_after_dumps_the_stacks_and_exits(root: Path) -> None:
    """tox's debugging aid: a hung nixtox prints every thread's stack and exits with 1."""
    script = (
        "import sys, time\n"
        "import nixtox.cli.shell_cmd as shell\n"
        "shell.prepare_envs = lambda *a, **k: time.sleep(30)  # a build that hangs\n"
        "from nixtox.cli import main\n"
        f"sys.exit(main(['--exit-and-dump-after', '1', '--root', {str(root)!r}, 'exec', '-e', 'py312', '--', 'x']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert "Timeout (0:00:01)!" in proc.stderr
    assert "most recent call first" in proc.stderr
    assert "in <lambda>" in proc.stderr  # the hung frame


def test_exit_and_dump_after_is_cancelled_when_the_command_ends(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(capsys, "--exit-and-dump-after", "1", "--root", str(root), "list")[0] == 0
    time.sleep(1.5)  # had the dump not been cancelled, it would have ended this test process
