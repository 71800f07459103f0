"""tox keys nixtox acts on beyond what they read as (see test_config_vs_tox for the values themselves):
platform, recreate, fail_fast, parallel_show_output, extra_setup_commands in the result JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixtox import session
from nixtox.model import CommandOutcome, EnvResult, Envs, Phase, Status
from nixtox.realise import realise_envs
from nixtox.render import render_env
from nixtox.report import result_json
from nixtox.run import schedule
from nixtox.select import platform_results
from tests.unit._values import locked, spec
from tests.unit.fake_nix import FakeNix

from .conftest import ProjectFactory
from .test_run_commands import cmd
from .test_schedule import Recorder, _ready

# --- platform -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "platform", "runs"),
    [
        ("", "linux", True),
        ("linux", "linux", True),
        ("linux|darwin", "darwin", True),
        ("lin", "linux", False),  # tox 4 matches the whole name (re.fullmatch)
        ("win32", "linux", False),
        ("(?!win).*", "linux", True),
    ],
)
def test_platform_regex_must_match_the_whole_platform(wanted: str, platform: str, runs: bool) -> None:
    env = spec("a", platform=wanted)
    skipped = platform_results([env], platform=platform)
    assert (env.key not in skipped) is runs
    if not runs:
        assert skipped[env.key].status == Status.SKIP
        assert skipped[env.key].reason == f"platform {platform} does not match {wanted}"


def test_an_invalid_platform_regex_is_that_envs_error() -> None:
    bad, good = spec("a", platform="linux("), spec("b")
    results = platform_results([bad, good], platform="linux")
    assert set(results) == {"a"}
    assert results["a"].status == Status.ERROR
    assert "invalid platform regular expression 'linux('" in results["a"].reason


def test_a_platform_skip_happens_before_anything_is_locked(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {"tox.ini": "[tox]\nenv_list = a, b\n[testenv]\nskip_install = true\n[testenv:b]\nplatform = nope\n"}
    )
    options = session.RunOptions(path=root)
    envs: Envs = session.execute(session.LOCK[:3], session.Session(options))  # type: ignore[type-arg]
    assert [s.name for s in envs.live] == ["a"]
    assert envs.ended["b"].status == Status.SKIP
    assert [s.name for s in envs.selected] == ["a", "b"]


# --- recreate -----------------------------------------------------------------------------------------


def test_recreate_rebuilds_only_the_env_that_sets_it(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    nix = FakeNix(tmp_path / "store")
    work = root / ".nixtox"

    def rendered():  # type: ignore[no-untyped-def]
        envs = [spec("a"), spec("b", recreate=True)]
        return [render_env(locked(e), root=root, project_name="demo") for e in envs]

    realise_envs(rendered(), work_dir=work, nix=nix)
    nix.calls.clear()
    again = realise_envs(rendered(), work_dir=work, nix=nix)
    assert nix.calls[0] == "instantiate envs.b"
    assert again.outcomes["a"].cached  # type: ignore[union-attr]
    assert not again.outcomes["b"].cached  # type: ignore[union-attr]


# --- fail_fast ----------------------------------------------------------------------------------------


def _schedule(specs, recorder, **kwargs):  # type: ignore[no-untyped-def]
    return schedule(specs, {}, {s.key: _ready(s) for s in specs}, jobs=1, run_one=recorder, **kwargs)


def test_an_envs_own_fail_fast_stops_the_run_after_it_fails() -> None:
    specs = [spec("a"), spec("b", fail_fast=True), spec("c"), spec("d")]
    recorder = Recorder(fail={"a", "b"})
    results = _schedule(specs, recorder)
    assert recorder.order == ["a", "b"]  # a failed without fail_fast: the run went on
    assert results["c"].status == results["d"].status == Status.SKIP
    assert results["c"].reason == "not run: b failed (fail_fast)"


def test_fail_fast_ignores_a_passing_env_and_ignore_outcome() -> None:
    specs = [spec("a", fail_fast=True), spec("b", fail_fast=True, ignore_outcome=True), spec("c")]
    recorder = Recorder(fail={"b"})
    _schedule(specs, recorder)
    assert recorder.order == ["a", "b", "c"]


# --- parallel_show_output -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "show", "shown"),
    [
        (Status.OK, False, False),
        (Status.SKIP, False, False),
        (Status.FAIL, False, True),
        (Status.ERROR, False, True),
        (Status.OK, True, True),
    ],
)
def test_parallel_output_is_shown_on_failure_or_when_asked(status: Status, show: bool, shown: bool) -> None:
    result = EnvResult(spec=spec("a", parallel_show_output=show), status=status)
    assert result.shows_parallel_output is shown


def test_the_core_parallel_show_output_is_every_envs_default(nixtox_project: ProjectFactory) -> None:
    from nixtox.config import load_project

    root = nixtox_project(
        {
            "tox.ini": "[tox]\nenv_list = a, b\nparallel_show_output = true\n[testenv:b]\nparallel_show_output = false\n"
        }
    )
    shows = {s.name: s.config.parallel_show_output for s in load_project(root).envs}
    assert shows == {"a": True, "b": False}


# --- extra_setup_commands in the result JSON ----------------------------------------------------------


def test_setup_commands_are_listed_under_setup_as_tox_does() -> None:
    setup, main = cmd("python", "-c", "1"), cmd("pytest")
    env = spec("a", extra_setup_commands=(setup,), commands=(main,))
    outcomes = (
        CommandOutcome(setup, Phase.EXTRA_SETUP_COMMANDS, 0, "", 1.0, 0.5),
        CommandOutcome(main, Phase.COMMANDS, 0, "", 2.0, 0.5),
    )
    data = result_json([EnvResult(spec=env, status=Status.OK, commands=outcomes)], seconds=1.0, exit_code=0)
    entry = data["testenvs"]["a"]
    assert [c["run_id"] for c in entry["setup"]] == ["extra_setup_commands[0]"]
    assert [c["run_id"] for c in entry["test"]] == ["commands[0]"]


def test_a_retried_command_keeps_its_run_id_as_tox_does() -> None:
    flaky, same_text, after = cmd("pytest"), cmd("pytest"), cmd("flake8")
    env = spec("a", commands=(flaky, same_text, after), commands_retry=2, ignore_errors=True)
    outcomes = (
        CommandOutcome(flaky, Phase.COMMANDS, 1, "", 1.0, 0.5),
        CommandOutcome(flaky, Phase.COMMANDS, 0, "", 2.0, 0.5),  # the retry passed
        CommandOutcome(same_text, Phase.COMMANDS, 1, "", 3.0, 0.5),  # the next command: same text
        CommandOutcome(same_text, Phase.COMMANDS, 1, "", 4.0, 0.5),
        CommandOutcome(after, Phase.COMMANDS, 0, "", 5.0, 0.5),
    )
    data = result_json([EnvResult(spec=env, status=Status.FAIL, commands=outcomes)], seconds=1.0, exit_code=1)
    run_ids = [c["run_id"] for c in data["testenvs"]["a"]["test"]]
    assert run_ids == ["commands[0]", "commands[0]", "commands[1]", "commands[1]", "commands[2]"]


def test_a_failed_setup_command_fails_the_env_with_exit_1_and_counts_as_setup(tmp_path: Path) -> None:
    import sys

    from nixtox.model import RealisedEnv
    from nixtox.run import run_env

    store = tmp_path / "store"
    (store / "bin").mkdir(parents=True)
    (store / "bin" / "python").symlink_to(sys.executable)
    sleep = "import time, sys; time.sleep(0.3); sys.exit(4)"
    env = spec(
        "a", extra_setup_commands=(cmd("python", "-c", sleep),), commands=(cmd("python", "-c", "1"),),
        change_dir=tmp_path,
    )  # fmt: skip
    env = type(env)(**{**env.__dict__, "env_dir": tmp_path / "envdir"})
    rendered = render_env(locked(env), root=tmp_path, project_name="demo")
    result = run_env(
        RealisedEnv(rendered, store, None, cached=True),
        hash_seed="1",
        sink=lambda _t: None,
        setup_seconds=1.0,
    )
    assert result.status == Status.FAIL
    assert result.exit_code == 1  # tox: "extra_setup_commands failed" is exit 1, whatever the command gave
    assert [o.phase for o in result.commands] == [Phase.EXTRA_SETUP_COMMANDS]
    assert result.reason.startswith("extra_setup_commands failed: exit 4 from python")
    assert result.setup_seconds >= 1.3
    assert result.command_seconds < 0.3


def test_disallow_pass_env_removes_what_pass_env_lets_through(tmp_path: Path) -> None:
    from nixtox.run import command_environ

    env = spec("a", pass_env=("MY_*",), disallow_pass_env=("MY_SECRET*", "home"))
    environ = command_environ(
        env, store_path=tmp_path, env_dir=tmp_path, hash_seed="1",
        environ={"MY_TOKEN": "t", "MY_SECRET_KEY": "s", "HOME": "/h", "PATH": "/bin"},
    )  # fmt: skip
    assert environ["MY_TOKEN"] == "t"
    assert "MY_SECRET_KEY" not in environ
    assert "HOME" not in environ  # a default pass_env entry, refused case-insensitively as in tox


# --- keys nixtox deliberately ignores -----------------------------------------------------------------

IGNORING = """
[tox]
env_list = a, b, c
requires =
    tox>=4.2
    tox-uv>=1
    tox-gh>=1
min_version = 4.20
[testenv]
install_command = python -m pip install {opts} {packages}
list_dependencies_command = python -m pip freeze
always_copy = true
virtualenv_spec = virtualenv<21
download = false
[testenv:a]
runner = uv-venv-runner
[testenv:b]
runner = uv-venv-lock-runner
download = true
[testenv:c]
runner = virtualenv
uv_seed = false
[testenv:d]
runner = virtualenv-pep-723
"""


def test_each_ignored_key_is_named_once_with_why(nixtox_project: ProjectFactory) -> None:
    from nixtox.config import load_project

    warnings = load_project(nixtox_project({"tox.ini": IGNORING})).core.warnings
    assert warnings == (
        "tox.ini: requires = tox-gh>=1 is not used: nixtox does not provision tox plugins, so these are not "
        "installed and do not run",
        "tox.ini: download = true is not used: nixtox envs have no pip/setuptools/wheel seed; add what the "
        "commands need to deps",
        "tox.ini: install_command is not used: nixtox installs wheels with pypa/installer inside Nix",
        "tox.ini: runner = virtualenv-pep-723 is not used: nixtox builds every env as a virtual environment "
        "in Nix; this runner is not implemented",
    )  # one line per key although three envs set install_command; harmless keys say nothing


def test_a_config_without_ignored_keys_gets_no_warning(nixtox_project: ProjectFactory) -> None:
    from nixtox.config import load_project

    root = nixtox_project(
        {"tox.ini": "[tox]\nrequires = tox>=4\n[testenv]\nrunner = virtualenv\ncommands = pytest\n"}
    )
    assert load_project(root).core.warnings == ()


def test_the_warnings_reach_the_user_once_per_run(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": IGNORING})
    said: list[str] = []
    session.execute(
        session.LOCK[:2], session.Session(session.RunOptions(path=root), session.NotifyOnly(said.append))
    )
    install = [line for line in said if "install_command" in line]
    assert install == [
        "warning: tox.ini: install_command is not used: nixtox installs wheels with pypa/installer inside Nix\n"
    ]


def test_tox_constants_nixtox_knows_and_those_it_cannot(nixtox_project: ProjectFactory) -> None:
    import sys

    from nixtox.config import load_project
    from nixtox.errors import ConfigError

    root = nixtox_project(
        {
            "tox.ini": "[testenv]\ncommands = echo {tox_root_name} {on_platform} {config_file_path} {envpython}"
            " {envsitepackagesdir}\n"
        }
    )
    (env,) = load_project(root).envs
    assert env.config.commands[0].argv == (
        "echo", root.name, sys.platform, str(root / "tox.ini"), str(env.env_dir / "bin" / "python"),
        str(env.env_dir / "site-packages"),
    )  # fmt: skip
    bad = nixtox_project({"tox.ini": "[testenv]\ncommands = python -c 'print(1)' {py_dot_ver}\n"})
    with pytest.raises(ConfigError, match=r"\{py_dot_ver\} is not supported by nixtox"):
        load_project(bad)
