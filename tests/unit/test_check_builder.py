"""``mkCheck``'s builder (nix/checks/run_check.py) run as Nix would run it, without Nix: a fake env whose
``bin`` holds this interpreter, a source directory, the derivation attributes as environment variables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nixtox.render import nix_library_path
from nixtox.run._check_record import read_record
from nixtox.run._tox import check_module

BUILDER = nix_library_path() / "checks" / "run_check.py"
run_check = check_module("run_check")
STORE = "/nix/store"
HASH = "0" * 31 + "a"


def _build(tmp_path: Path, commands: list[dict[str, Any]], **attrs: str) -> tuple[Path, str, int]:
    """Run the builder; (its output, its stderr, its exit code)."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").symlink_to(sys.executable)
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.txt").write_text("hello\n")
    build = tmp_path / "build"
    build.mkdir()
    out = tmp_path / "out"
    environ = {
        "PATH": f"{env / 'bin'}:/usr/bin:/bin",
        "TMPDIR": str(build),
        "NIX_STORE": STORE,
        "out": str(out),
        "src": str(src),
        "nixtoxEnv": str(env),
        "nixtoxEnvName": "py312",
        "commandsJson": json.dumps(
            [{"phase": "commands", "ignoreExitCode": False, "invertExitCode": False, **c} for c in commands]
        ),
        "setEnvJson": json.dumps({"WHERE": "@projectRoot@"}),
        "allowFailure": "1",
        **attrs,
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-B", str(BUILDER)], env=environ, capture_output=True, text=True, check=False
    )
    return out, proc.stderr, proc.returncode


def test_the_record_holds_each_command_its_output_time_and_the_machine(tmp_path: Path) -> None:
    commands = [
        {"phase": "commands_pre", "argv": ["python", "-c", "print('pre')"]},
        {"argv": ["python", "-c", "import os; print(open(os.environ['WHERE'] + '/data.txt').read())"]},
        {"argv": ["python", "-c", "raise SystemExit(4)"]},
        {"argv": ["python", "-c", "print('never')"]},
        {"phase": "commands_post", "argv": ["python", "-c", "print('post')"]},
    ]
    out, stderr, code = _build(tmp_path, commands)
    assert code == 0, stderr  # allowFailure: a failure is recorded, the build succeeds
    record = read_record(out)
    assert record.exit_code == 4
    assert [(c.phase, c.index, c.exit_code) for c in record.commands] == [
        ("commands_pre", 0, 0), ("commands", 0, 0), ("commands", 1, 4), ("commands_post", 0, 0),
    ]  # fmt: skip
    assert record.commands[1].output == "hello\n\n"
    assert all(c.seconds > 0 and c.started > 1e9 for c in record.commands)
    assert record.host
    assert record.started <= record.commands[0].started <= record.finished
    assert (out / "exit-code").read_text() == "4\n"
    assert "py312: commands[1]> python -c raise SystemExit(4)" in (out / "log").read_text()


def test_a_failure_fails_the_build_without_allow_failure(tmp_path: Path) -> None:
    out, stderr, code = _build(tmp_path, [{"argv": ["python", "-c", "raise SystemExit(2)"]}], allowFailure="")
    assert code == 1
    assert "a command failed (exit 2)" in stderr
    assert read_record(out).exit_code == 2


def test_the_build_log_streams_markers_around_each_command(tmp_path: Path) -> None:
    _, stderr, _ = _build(tmp_path, [{"argv": ["python", "-c", "print('hi')"]}])
    lines = stderr.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("@nixtox ")))
    assert json.loads(lines[start].removeprefix("@nixtox ")) == {
        "event": "start",
        "index": 0,
        "phase": "commands",
    }
    assert lines[start + 1] == "hi"
    end = json.loads(lines[start + 2].removeprefix("@nixtox "))
    assert (end["event"], end["exit_code"]) == ("exit", 0)


def test_junit_files_a_command_writes_are_recorded_with_their_text(tmp_path: Path) -> None:
    write = "import sys; open(sys.argv[1].split('=', 1)[1], 'w').write('<testsuites/>')"
    commands = [
        {"argv": ["python", "-c", write, "--junitxml=@envDir@/tmp/j.xml"]},
        {"argv": ["python", "-c", "pass", "--junit-xml", "missing.xml"]},
    ]
    out, _stderr, _ = _build(tmp_path, commands)
    record = read_record(out)
    (junit,) = record.commands[0].junit
    assert (junit.path, junit.text) == ("@envDir@/tmp/j.xml", "<testsuites/>")
    assert record.commands[1].junit == ()


def test_store_hashes_in_outputs_reach_no_reference(tmp_path: Path) -> None:
    path = f"{STORE}/{HASH}-nixtox-env-py312/lib/x.py"
    out, _stderr, _ = _build(tmp_path, [{"argv": ["python", "-c", f"print('File {path}')"]}])
    raw = (out / "result.json").read_text() + (out / "log").read_text()
    assert HASH not in raw  # what Nix's reference scanner looks for
    assert read_record(out).commands[0].output == f"File {path}\n"  # read back exactly
    assert f"{STORE}/{'e' * 32}-nixtox-env-py312/lib/x.py" in (out / "log").read_text()


_HASHES = st.text(alphabet="0123456789abcdfghijklmnpqrsvwxyz", min_size=32, max_size=32)


@given(st.lists(st.tuples(st.text(max_size=20), _HASHES), max_size=4), st.text(max_size=20))
def test_escaping_hashes_keeps_every_value(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{before}{STORE}/{h}-name" for before, h in parts) + tail
    pattern = run_check.store_hash_pattern(STORE)
    escaped = run_check.escape_hashes(json.dumps({"output": text}), pattern)
    assert json.loads(escaped) == {"output": text}
    assert not any(h in escaped for _, h in parts)


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        (["pytest", "--junitxml=a.xml"], ["a.xml"]),
        (["pytest", "--junit-xml", "b.xml", "-q"], ["b.xml"]),
        (["pytest", "--junitxml"], []),
        (["pytest", "--junitxml="], []),
    ],
)
def test_junit_options_are_the_reports_own(argv: list[str], found: list[str]) -> None:
    from nixtox.report._junit import junit_paths

    assert run_check.tox_commands.junit_values(argv) == found  # what the check collects inside Nix
    assert [p.name for p in junit_paths(argv, Path("/x"))] == found  # and the host's reports


def test_the_readonly_store_protection_is_what_commands_start_with() -> None:
    # commands start through tox_commands.spawn, which starts them read-only (readonly.py)
    source = BUILDER.read_text()
    assert re.search(r"tox_commands\.spawn\(", source)
    assert "protect=False" not in source
    assert os.path.isfile(BUILDER.parent / "readonly.py")
