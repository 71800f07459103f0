"""Regressions of the fault and misuse audit (issue 11) with the real Nix: store, roots, source, state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nixtox.state import gcroot_dir
from tests.integration._nixtox import make_project, nixtox, results, start_nixtox

pytestmark = pytest.mark.nix

TAMPER = (
    'python -c "import termcolor, os; '
    "open(os.path.join(os.path.dirname(termcolor.__file__), '__init__.py'), 'a').write('X=1')\""
)


def _closure(path: str) -> list[str]:
    out = subprocess.run(["nix-store", "-qR", path], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_a_command_cannot_write_into_the_layers_envs_share(tmp_path: Path) -> None:
    ini = (
        f"[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = termcolor\ncommands = {TAMPER}\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode != 0  # the write fails ...
    assert "Read-only file system" in out.stdout
    store_path = results(tmp_path / "r.json")["py312"]["store_path"]
    verify = subprocess.run(
        ["nix-store", "--verify-path", *_closure(store_path)], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr  # ... and every path of the env is intact
    shell = nixtox(root, "shell", "py312", "--", "sh", "-c", "touch $VIRTUAL_ENV/x; echo rc=$?")
    assert "Read-only file system" in shell.stdout + shell.stderr
    assert not (Path(store_path) / "x").exists()


def _collect_garbage_until(store: Path, stop: threading.Event, counter: list[int]) -> None:
    """Garbage-collect the separate store ``store`` over and over (never the system store)."""
    argv = ["nix-store", "--store", str(store), "--option", "build-users-group", "", "--gc"]
    while not stop.is_set():
        subprocess.run(argv, capture_output=True, check=False)
        counter.append(1)
        time.sleep(0.05)


def test_a_concurrent_garbage_collection_never_breaks_a_build(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = iniconfig\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    store = tmp_path / "other-store"
    store.mkdir()
    stop, counter = threading.Event(), []
    collector = threading.Thread(target=_collect_garbage_until, args=(store, stop, counter))
    collector.start()
    try:
        out = nixtox(root, "cache", "pull", "--store", str(store))
    finally:
        stop.set()
        collector.join()
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(counter) >= 3  # collections really ran during the build
    env_path = (gcroot_dir(root / ".nixtox", str(store)) / "py312").resolve()
    verify = subprocess.run(
        ["nix-store", "--store", str(store), "--verify-path", str(env_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    gc = subprocess.run(
        ["nix-store", "--store", str(store), "--option", "build-users-group", "", "--gc"],
        capture_output=True,
        check=False,
    )
    assert gc.returncode == 0
    assert (
        subprocess.run(
            ["nix-store", "--store", str(store), "--check-validity", str(env_path)], check=False
        ).returncode
        == 0
    )


@pytest.mark.parametrize("command", ["lock", "run"])
def test_concurrent_runs_on_different_envs_keep_every_lock_entry(tmp_path: Path, command: str) -> None:
    ini = (
        "[tox]\nenv_list = a, b\n[testenv]\npackage_formats = skip\nbase_python = python3.12\n"
        "commands = python -c pass\n[testenv:a]\ndeps = iniconfig\n[testenv:b]\ndeps = termcolor\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    procs = [start_nixtox(root, command, "-e", env) for env in ("a", "b")]
    outputs = [proc.communicate(timeout=600)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    lock = (root / "nixtox.lock").read_text()
    assert "[envs.a]" in lock
    assert "[envs.b]" in lock


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.parametrize("target", ["process", "group"])
def test_sigterm_stops_the_running_command_and_exits_as_interrupted(tmp_path: Path, target: str) -> None:
    pid_file = tmp_path / "cmd.pid"
    sleeper = (
        f"python -c \"import os, time; open('{pid_file}', 'w').write(str(os.getpid())); time.sleep(20)\""
    )
    ini = f"[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ncommands = {sleeper}\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nixtox", "run"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    command = int(pid_file.read_text())
    if target == "process":
        proc.send_signal(signal.SIGTERM)  # what `timeout 3 nixtox run` does
    else:
        os.killpg(proc.pid, signal.SIGTERM)  # a CI runner cancelling the job
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 254, out  # tox's code for an interrupted run (-2)
    assert "py312: INTERRUPTED" in out or "interrupted" in out.lower()
    assert not _pid_alive(command)


def test_secret_files_never_reach_the_store_without_git(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = wheel\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    (root / ".env").write_text("TOKEN=secret\n")
    (root / ".env").chmod(0o600)
    (root / ".gitignore").write_text("notes.txt\n")
    (root / "notes.txt").write_text("private notes\n")
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    drv = results(tmp_path / "r.json")["py312"]["drv_path"]
    sources = [p for p in _closure(drv) if p.endswith("-source")]
    assert sources
    for source in sources:
        assert not (Path(source) / ".env").exists()
        assert not (Path(source) / "notes.txt").exists()
    assert any((Path(s) / "setup.py").exists() or (Path(s) / "pyproject.toml").exists() for s in sources)


def test_an_env_built_in_one_store_is_built_again_for_another(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = iniconfig\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    assert nixtox(root, "cache", "pull").returncode == 0  # the default store: state says "built"
    for how in ("option", "variable"):
        store = tmp_path / f"store-{how}"
        store.mkdir()
        if how == "option":
            out = nixtox(root, "cache", "pull", "--store", str(store))
        else:
            out = nixtox(root, "cache", "pull", extra_env={"NIXTOX_NIX_STORE": str(store)})
        assert out.returncode == 0, out.stdout + out.stderr
        env_path = out.stdout.split(": ", 1)[1].strip()
        assert (store / env_path.lstrip("/")).is_dir(), out.stdout + out.stderr
    again = nixtox(root, "cache", "pull", "--store", str(tmp_path / "store-option"))
    assert "building" not in again.stderr  # now up to date in that store too


def _read_only(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """nixtox in a mount namespace where the project directory is mounted read-only."""
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(root), sys.executable, "-m", "nixtox", *args],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a private mount namespace")
def test_a_read_only_project_is_one_error_line(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = iniconfig\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    cold = _read_only(root, "run")
    assert nixtox(root, "run").returncode == 0
    warm = _read_only(root, "run", "--locked")
    shell = _read_only(root, "shell", "py312", "--", "python", "-c", "pass")
    for out in (cold, warm, shell):
        assert out.returncode != 0
        assert "Traceback" not in out.stderr + out.stdout
        assert "error: cannot write" in out.stderr
        assert "Read-only file system" in out.stderr


@pytest.mark.parametrize("damaged", ["nixtox.lock", "reqs.txt", ".nixtox/state.json"])
def test_a_file_that_is_not_utf8_is_one_error_line_or_ignored(tmp_path: Path, damaged: str) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = -r reqs.txt\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    (root / "reqs.txt").write_text("iniconfig\n")
    assert nixtox(root, "run").returncode == 0
    (root / damaged).write_bytes((root / damaged).read_bytes() + b"\n\xff\xfe\n")
    out = nixtox(root, "run")
    assert "Traceback" not in out.stdout + out.stderr
    if damaged == ".nixtox/state.json":
        assert out.returncode == 0, out.stdout + out.stderr  # state is a cache: rebuilt from Nix
    else:
        assert out.returncode != 0
        assert "not UTF-8 text" in out.stdout + out.stderr


def test_every_env_skipped_exits_1_as_tox_does_without_advising_the_setting(tmp_path: Path) -> None:
    ini = (
        "[tox]\nenv_list = future\nskip_missing_interpreters = true\n"
        "[testenv]\npackage_formats = skip\ncommands = python -c pass\nbase_python = python3.99\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run")
    assert out.returncode == 1  # tox 4: "evaluation failed :(" when nothing ran
    assert "future: SKIP" in out.stdout
    assert "set skip_missing_interpreters" not in out.stdout + out.stderr
