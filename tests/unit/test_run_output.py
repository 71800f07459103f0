"""What running an env says and keeps: tox's command and exit lines, and one log file per command."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from nixtox.model import Command, RealisedEnv, RenderedEnv
from nixtox.report._lines import CRITICAL, INFO, WARNING, LogLine, redact_argv
from nixtox.run import run_env
from tests.unit._values import locked, spec


@pytest.fixture
def store(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    say = env / "bin" / "say"
    say.write_text(
        f"#!{sys.executable}\nimport sys\nprint(' '.join(sys.argv[1:]))\nsys.exit(int(sys.argv[-1]))\n"
    )
    say.chmod(0o755)
    return env


def _run(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: object
) -> tuple[list[str], object]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_TOKEN", "hunter2")
    monkeypatch.setenv("PLAIN", "visible-only-as-stars")
    env_spec = spec(change_dir=tmp_path, pass_env=("MY_TOKEN", "PLAIN"), set_env=(("FOO", "bar"),), **config)
    env_spec = dataclasses.replace(env_spec, env_dir=tmp_path / ".nixtox" / "envs" / env_spec.key)
    realised = RealisedEnv(RenderedEnv(locked(env_spec), "py312", "f"), store, None, cached=True)
    said: list[str] = []
    result = run_env(realised, hash_seed="1", sink=said.append, setup_seconds=0)
    return said, result


def test_toxs_lines_around_each_command(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said, _ = _run(
        store, tmp_path, monkeypatch,
        commands_pre=(Command(("say", "pre", "0")),),
        commands=(Command(("say", "main", "0")), Command(("say", "--token=abc", "3"))),
    )  # fmt: skip
    logged = [(line.level, line.message.split(" (")[0]) for line in said if isinstance(line, LogLine)]
    assert logged == [
        (WARNING, "commands_pre[0]> say pre 0"),
        (INFO, "exit 0"),
        (WARNING, "commands[0]> say main 0"),
        (INFO, "exit 0"),
        (WARNING, "commands[1]> say '--token=***' 3"),  # masked, then quoted, as tox does
        (CRITICAL, "exit 3"),
    ]
    failed = [line for line in said if isinstance(line, LogLine)][-1]
    assert failed.startswith("py312: exit 3 (")
    assert f" {tmp_path}> say '--token=***' 3 pid=" in failed
    assert "main 0\n" in said  # the output itself is passed on untouched


def test_an_ignored_failure_says_it_counts_as_success(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said, _ = _run(store, tmp_path, monkeypatch, commands=(Command(("say", "1"), ignore_exit_code=True),))
    texts = [line.message for line in said if isinstance(line, LogLine)]
    assert texts[-1] == "command failed but is marked ignore outcome so handling it as success"


def test_one_log_per_command_with_toxs_header_and_no_host_values(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, result = _run(
        store, tmp_path, monkeypatch, commands=(Command(("say", "a", "0")), Command(("say", "b", "2")))
    )
    log_dir = tmp_path / ".nixtox" / "envs" / "py312" / "log"
    assert result.log_dir == log_dir  # type: ignore[attr-defined]
    assert sorted(p.name for p in log_dir.iterdir()) == ["1-commands[0].log", "2-commands[1].log"]
    text = (log_dir / "2-commands[1].log").read_text()
    header = dict(line.split(": ", 1) for line in text.splitlines()[:1] + text.splitlines()[1:2])
    assert header == {"name": "py312", "run_id": "commands[1]"}
    assert "\ncmd: say b 2\nexit_code: 2\nb 2\n" in text
    assert f"\ncwd: {tmp_path}\n" in text
    assert "\nmetadata pid: " in text
    assert "\nenv FOO: bar\n" in text  # set_env: the config's own value
    assert "\nenv PLAIN: ***\n" in text  # passed from the host: never written
    assert "hunter2" not in text

    # a second run replaces the logs of the first
    _run(store, tmp_path, monkeypatch, commands=(Command(("say", "c", "0")),))
    assert sorted(p.name for p in log_dir.iterdir()) == ["1-commands[0].log"]


def test_a_pass_env_value_a_command_prints_is_masked_in_its_log(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/home/someone")  # tox's default pass-through: left as it is
    _, result = _run(
        store, tmp_path, monkeypatch, commands=(Command(("say", "hunter2", "/home/someone", "0")),)
    )
    text = (tmp_path / ".nixtox" / "envs" / "py312" / "log" / "1-commands[0].log").read_text()
    assert text.endswith("exit_code: 0\n*** /home/someone 0\n")
    assert result.commands[0].output == "hunter2 /home/someone 0\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (
            ["pip", "install", "-i", "https://u:p4ss@host/simple"],
            ["pip", "install", "-i", "https://******@host/simple"],
        ),
        (["tool", "--api-key=XYZ", "--name=demo"], ["tool", "--api-key=***", "--name=demo"]),
        (["pytest", "-k", "token"], ["pytest", "-k", "token"]),
    ],
)
def test_secrets_in_command_lines_are_masked_as_tox_does(argv: list[str], shown: list[str]) -> None:
    assert redact_argv(argv) == shown
