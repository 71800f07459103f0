"""The console's closing lines and per-env lines, in tox 4's exact shapes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nixtox.model import Command, EnvResult
from nixtox.report import failed_log, summary_lines
from nixtox.report._console import done_line, exit_code, human_seconds
from tests.unit._report_samples import make_spec, ok, outcome

PYTEST = Command(("pytest",))


def texts(results: list[EnvResult], seconds: float = 1.52) -> list[str]:
    return [text for text, _ in summary_lines(results, seconds, log_of=failed_log)]


def test_ok_env_lists_setup_and_each_commands_seconds_as_tox_does() -> None:
    two = dataclasses.replace(
        ok(make_spec("py312")),
        commands=(outcome(PYTEST, seconds=0.71), outcome(PYTEST, seconds=0.71)),
        setup_seconds=0.04,
        command_seconds=1.42,
    )
    assert texts([two]) == [
        "  py312: OK (1.46=setup[0.04]+cmd[0.71,0.71] seconds)",
        "  congratulations :) (1.52 seconds)",
    ]


def test_failed_env_says_its_code_and_where_its_log_is(tmp_path: Path) -> None:
    failing = dataclasses.replace(
        ok(make_spec("py312")),
        status="fail",
        exit_code=1,
        commands=(outcome(PYTEST, phase="commands_pre"), outcome(PYTEST, code=1)),
        log_dir=tmp_path / "log",
    )
    lines = texts([failing])
    assert lines[0].startswith("  py312: FAIL code 1 (")
    assert lines[1] == f"    log: {tmp_path / 'log' / '2-commands[0].log'}"
    assert lines[2] == "  evaluation failed :( (1.52 seconds)"


def test_skip_and_error_lines_carry_no_reason_it_was_shown_already() -> None:
    skip = EnvResult(make_spec("py39"), "skip", reason="no interpreter for py39", setup_seconds=0.01)
    error = EnvResult(make_spec("py27"), "error", reason="no interpreter for py27", exit_code=1)
    assert texts([skip, error]) == [
        "  py39: SKIP (0.01 seconds)",
        "  py27: ERROR (0.00 seconds)",
        "  evaluation failed :( (1.52 seconds)",
    ]


def test_ignored_failure_is_tox_ignored_fail() -> None:
    flaky = dataclasses.replace(
        ok(make_spec("py312", ignore_outcome=True)),
        status="fail",
        exit_code=3,
        commands=(outcome(PYTEST, code=3),),
    )
    lines = texts([flaky])
    assert lines[0].startswith("  py312: IGNORED FAIL code 3 (")
    assert lines[1] == "  congratulations :) (1.52 seconds)"  # and no log line: it did not fail the run


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0 seconds"),
        (1.0, "1 second"),
        (2.45, "2.45 seconds"),
        (59.999, "1 minute"),
        (63.5, "1 minute 3.5 seconds"),
        (3600 * 2 + 1, "2 hours 1 second"),
    ],
)
def test_durations_read_as_tox_writes_them(seconds: float, text: str) -> None:
    assert human_seconds(seconds) == text


@given(st.floats(min_value=0, max_value=10**6, allow_nan=False))
def test_durations_add_up_to_the_seconds(seconds: float) -> None:
    units = {"day": 86400, "days": 86400, "hour": 3600, "hours": 3600, "minute": 60, "minutes": 60}
    words = human_seconds(seconds).split()
    total = sum(float(n) * units.get(unit, 1) for n, unit in zip(words[::2], words[1::2], strict=True))
    assert abs(total - seconds) <= 0.005 + 1e-9


def test_done_line_has_toxs_marks_or_ascii_ones() -> None:
    assert done_line(ok(make_spec("py311")), 2.45) == ("py311: OK ✔ in 2.45 seconds", "\x1b[32m")
    failing = EnvResult(make_spec("py312"), "fail", exit_code=1)
    assert done_line(failing, 1, unicode=False)[0] == "py312: FAIL ! in 1 second"
    skipped = EnvResult(make_spec("py39"), "skip")
    assert done_line(skipped, 0.01)[0] == "py39: SKIP ⚠ in 0.01 seconds"


def test_under_fail_fast_the_first_failed_envs_code_is_the_runs() -> None:
    first = EnvResult(make_spec("a"), "fail", exit_code=3)
    later = EnvResult(make_spec("b"), "fail", exit_code=5)
    passed = ok(make_spec("c"))
    assert exit_code([passed, first, later]) == 1  # several envs: 1, as tox
    assert exit_code([passed, first, later], fail_fast=True) == 3
    stops = EnvResult(make_spec("d", fail_fast=True), "fail", exit_code=4)
    assert exit_code([passed, stops, later]) == 4  # an env's fail_fast counts as --fail-fast
    assert exit_code([passed, ok(make_spec("e"))], fail_fast=True) == 0
