"""Parallel runs, the work-dir lock, and Ctrl-C, with the real CLI, real Nix and real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.integration._nixtox import make_project, nixtox, results, start_nixtox

pytestmark = pytest.mark.nix

SLEEPY = """\
[tox]
env_list = e{1,2,3,4,5,6}

[testenv]
package_formats = skip
base_python = python3.12
pass_env = SLEEP, PIDFILE
commands = python -c "import os, time; p = os.environ.get('PIDFILE'); p and open(p + os.environ['NIXTOX_ENV_NAME'], 'w').write(str(os.getpid())); print('started', flush=True); time.sleep(float(os.environ.get('SLEEP', '0.6')))"
"""


def _intervals(data: dict[str, dict]) -> list[tuple[float, float]]:  # type: ignore[type-arg]
    spans = []
    for env in data.values():
        for command in env["test"]:
            spans.append((command["start"], command["start"] + command["elapsed"]))
    return spans


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    return most


def test_parallel_auto_keeps_at_most_one_env_per_core_running(tmp_path: Path) -> None:
    root = make_project(tmp_path, "setuptools_proj", SLEEPY)
    out = nixtox(root, "run", "-p", "auto", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    data = results(tmp_path / "r.json")
    assert len(data) == 6
    assert all(e["result"]["success"] for e in data.values())
    most = _most_at_once(_intervals(data))
    cores = os.cpu_count() or 1
    assert most <= cores
    if cores > 1:
        assert most >= 2  # it really ran in parallel
    # as tox's run-parallel: a passing env's output is held back, each env but the last says it ended
    assert "started" not in out.stdout.splitlines()
    assert len(re.findall(r"^e\d: OK (✔|\+) in ", out.stdout, flags=re.MULTILINE)) == 5
    assert "\x1b" not in out.stdout  # not a terminal: no colour, no cursor movement


def test_parallel_shows_a_failing_envs_output_as_one_block(tmp_path: Path) -> None:
    ini = SLEEPY.replace("e{1,2,3,4,5,6}", "e{1,2,3}").replace(
        "commands =",
        "set_env = e2: FAIL=1\ncommands_post = python -c \"import os, sys; sys.exit(int(os.environ.get('FAIL', '0')))\"\ncommands =",
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "-p", "auto")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    failed = lines.index(next(line for line in lines if line.startswith("e2: FAIL")))
    assert lines[failed + 1].startswith("e2: commands[0]> python -c")
    assert lines[failed + 2] == "started"
    assert lines[failed + 3].startswith("e2: commands_post[0]> python -c")
    assert re.match(r"e2: exit 1 \(\d+\.\d\d seconds\) /\S+> python -c .* pid=\d+$", lines[failed + 4])
    assert lines.count("started") == 1  # the passing envs' output stays held back
    assert "e1: e1:" not in out.stdout


def test_two_processes_at_once_share_one_build(tmp_path: Path) -> None:
    ini = SLEEPY.replace("e{1,2,3,4,5,6}", "solo")
    root = make_project(tmp_path, "setuptools_proj", ini)
    first = start_nixtox(root, "run", "--result-json", str(tmp_path / "a.json"))
    second = start_nixtox(root, "run", "--result-json", str(tmp_path / "b.json"))
    out_a, _ = first.communicate(timeout=600)
    out_b, _ = second.communicate(timeout=600)
    assert first.returncode == 0, out_a
    assert second.returncode == 0, out_b
    cached = sorted(results(tmp_path / n)["solo"]["cached"] for n in ("a.json", "b.json"))
    assert cached == [False, True]  # one built, the other waited and reused it
    state = json.loads((root / ".nixtox" / "state.json").read_text())
    assert list(state["envs"]) == ["solo"]


def _wait_for(proc_out: list[str], proc, needle: str, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        proc_out.append(line)
        if needle in line:
            return
    raise AssertionError(f"never saw {needle!r}: {''.join(proc_out)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_during_a_command_stops_it_and_the_next_run_works(tmp_path: Path) -> None:
    root = make_project(tmp_path, "setuptools_proj", SLEEPY.replace("e{1,2,3,4,5,6}", "e{1,2}"))
    pidfile = str(tmp_path / "pid-")
    proc = start_nixtox(root, "run", "-p", "2", "-o", "--result-json", str(tmp_path / "r.json"),
                        extra_env={"SLEEP": "120", "PIDFILE": pidfile})  # fmt: skip
    seen: list[str] = []
    _wait_for(seen, proc, "started")
    time.sleep(0.5)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert time.monotonic() - started < 20
    assert proc.returncode == 254, "".join(seen) + rest  # tox's -2
    # the interrupted python commands print their own KeyboardInterrupt; nixtox prints none
    assert "INTERRUPTED" in rest
    assert not re.search(r"File \".*/nixtox/", rest)  # no traceback through nixtox's code
    for name in ("e1", "e2"):
        pid_path = Path(pidfile + name)
        if pid_path.exists():
            pid = int(pid_path.read_text())
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(pid), f"command of {name} still running"
    data = results(tmp_path / "r.json")
    assert {e["result"]["status"] for e in data.values()} == {"interrupted"}
    again = nixtox(root, "run", "-e", "e1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "e1: OK" in again.stdout
    assert "cached" in again.stdout


def test_ctrl_c_during_a_build_leaves_nothing_half_done(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = slow\n[testenv]\npackage_formats = wheel\nbase_python = python3.12\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    (root / "setup.py").write_text(  # a build of its own: never one an earlier run left in the store
        f"# {uuid.uuid4()}\nimport time\nfrom setuptools import setup\n"
        "print('nixtox-test: slow build', flush=True)\ntime.sleep(120)\nsetup()\n"
    )
    proc = start_nixtox(root, "run")
    seen: list[str] = []
    _wait_for(seen, proc, "building 1 env(s)")
    time.sleep(4)  # into the package build
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 254, "".join(seen) + rest
    assert "Traceback" not in rest
    state_file = root / ".nixtox" / "state.json"
    if state_file.exists():
        assert "slow" not in json.loads(state_file.read_text())["envs"]
    (root / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    again = nixtox(root, "run")
    assert again.returncode == 0, again.stdout + again.stderr
