"""Differential tests of the run semantics: the installed tox 4 and nixtox run the same commands.

Each scenario is one env of one tox.ini: real ``python -c`` commands that exit with given codes (a
counter file makes a command fail its first N attempts). tox runs them in a virtualenv (its result JSON
says which commands ran, with which codes, and the env's exit code); nixtox runs them with
``run_commands`` (``nix/checks/tox_commands.py``) against a bin/ whose python is this interpreter.
Both must run the same commands in the same order with the same codes and end the env the same way.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nixtox.config import load_project
from nixtox.model import EnvSpec
from nixtox.run import command_environ
from nixtox.run._commands import run_commands

from .conftest import ProjectFactory

_TAGS = iter(range(1000))


def _exits(code: int) -> str:
    """A command exiting with ``code``; a unique argument tells equal commands apart."""
    return f"python -c 'import sys; sys.exit({code})' {next(_TAGS)}"


def _fails_first(times: int, name: str) -> str:
    """Fails (exit 5) the first ``times`` runs, then passes: counted in a file named ``name``."""
    code = (
        "import pathlib, sys; p = pathlib.Path('" + name + "'); n = int(p.read_text()) if p.exists() else 0;"
        " p.write_text(str(n + 1)); sys.exit(5 if n < " + str(times) + " else 0)"
    )
    return "python -c " + shlex.quote(code)


#: env name -> its [testenv:NAME] body (besides skip_install)
SCENARIOS: dict[str, str] = {
    "plain": f"commands_pre = {_exits(0)}\ncommands = {_exits(0)}\n    {_exits(2)}\n    {_exits(0)}\n"
    f"commands_post = {_exits(0)}",
    "pre_fails": f"commands_pre = {_exits(4)}\n    {_exits(0)}\ncommands = {_exits(0)}\n"
    f"commands_post = {_exits(0)}",
    "pre_fails_ignore_errors": f"ignore_errors = true\ncommands_pre = {_exits(4)}\n    {_exits(0)}\n"
    f"commands = {_exits(3)}\n    {_exits(0)}\ncommands_post = {_exits(6)}\n    {_exits(0)}",
    "post_stops_at_first_failure": f"commands = {_exits(0)}\ncommands_post = {_exits(6)}\n    {_exits(0)}",
    "retry_until_pass": f"commands_retry = 3\ncommands = {_fails_first(2, 'cnt-a')}\n    {_exits(0)}",
    "retry_exhausted": f"commands_retry = 1\ncommands = {_exits(7)}\n    {_exits(0)}\n"
    f"commands_post = {_fails_first(1, 'cnt-b')}",
    "retry_skips_dash_and_inverts_bang": f"commands_retry = 2\ncommands = - {_exits(3)}\n    ! {_exits(0)}",
    "setup_commands": f"extra_setup_commands = {_exits(0)}\n    {_exits(0)}\ncommands = {_exits(0)}",
    "setup_fails": f"extra_setup_commands = {_exits(9)}\n    {_exits(0)}\ncommands = {_exits(0)}\n"
    f"commands_post = {_exits(0)}",
    "setup_fails_ignore_errors": f"ignore_errors = true\ncommands_retry = 2\n"
    f"extra_setup_commands = {_exits(9)}\n    {_exits(0)}\ncommands = {_exits(0)}",
}


def _tox_ini() -> str:
    sections = "".join(f"[testenv:{name}]\n{body}\n" for name, body in SCENARIOS.items())
    return f"[tox]\nenv_list = {', '.join(SCENARIOS)}\n[testenv]\nskip_install = true\n{sections}"


def _tox_results(root: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_", "VIRTUALENV_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "tox", "run", "--result-json", "result.json", "-q"],
        cwd=root, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert (root / "result.json").is_file(), proc.stdout + proc.stderr
    data: dict[str, object] = json.loads((root / "result.json").read_text())
    return data


def _tox_ran(env: dict[str, object]) -> tuple[list[tuple[str, int]], int, bool]:
    entries = [*env.get("setup", []), *env.get("test", [])]  # type: ignore[misc]
    ran = [(e["run_id"], e["retcode"]) for e in entries if e["run_id"] != "freeze"]
    result = env["result"]
    return ran, result["exit_code"], result["success"]  # type: ignore[index]


def _nixtox_ran(spec: EnvSpec, root: Path, store: Path) -> tuple[list[tuple[str, int]], int, bool]:
    environ = command_environ(
        spec, store_path=store, env_dir=root / "envdir", hash_seed="1", environ={"PATH": "/usr/bin:/bin"}
    )
    ran = run_commands(spec, environ=environ, store_path=store, cwd=root, sink=lambda _text: None)
    phases = dict(spec.config.phases())
    out = [(f"{o.phase}[{phases[o.phase].index(o.command)}]", o.exit_code) for o in ran.outcomes]
    return out, ran.exit_code, ran.failed is None


@pytest.fixture(scope="module")
def tox_journal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("tox-run")
    (root / "tox.ini").write_text(_tox_ini())
    testenvs = _tox_results(root)["testenvs"]
    assert isinstance(testenvs, dict)
    return testenvs


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_commands_run_as_tox_runs_them(
    name: str, tox_journal: dict[str, object], nixtox_project: ProjectFactory, tmp_path: Path
) -> None:
    root = nixtox_project({"tox.ini": _tox_ini()})
    store = tmp_path / "store"
    (store / "bin").mkdir(parents=True)
    (store / "bin" / "python").symlink_to(sys.executable)
    (spec,) = (s for s in load_project(root).envs if s.name == name)
    theirs = _tox_ran(tox_journal[name])  # type: ignore[arg-type]
    assert _nixtox_ran(spec, root, store) == theirs, textwrap.dedent(SCENARIOS[name])
