"""What a user sees: streamed, block-wise or prefixed output, and status lines on a terminal."""

from __future__ import annotations

import io

import pytest

from nixtox.cli._display import Display
from nixtox.model import EnvResult
from tests.unit._values import spec


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_two(display: Display) -> None:
    a, b = spec("a"), spec("b")
    display.env_started(a)
    display.env_started(b)
    display.env_output(a, "a line 1\n")
    display.env_output(b, "b line 1\n")
    display.env_output(a, "a line 2\n")
    display.env_done(EnvResult(spec=b, status="fail", exit_code=1))
    display.env_done(EnvResult(spec=a, status="ok"))
    display.close()


def test_parallel_output_comes_as_one_block_per_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    out = io.StringIO()
    _run_two(Display(parallel=True, live=False, stream=out))
    text = out.getvalue()
    assert "a line 1\na line 2\n" in text  # never interleaved with b's line
    assert text.index("b line 1") < text.index("a line 1")  # b finished first
    assert "a: started" in text
    assert "b: fail" in text


def test_live_output_is_prefixed_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    out = io.StringIO()
    _run_two(Display(parallel=True, live=True, stream=out))
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["a: a line 1", "b: b line 1", "a: a line 2"]


def test_sequential_output_is_streamed_as_it_comes() -> None:
    out = io.StringIO()
    display = Display(parallel=False, live=False, stream=out)
    display.env_output(spec("a"), "first\n")
    assert out.getvalue() == "first\n"


def test_terminal_gets_status_lines_updated_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    out = Terminal()
    display = Display(parallel=True, live=False, stream=out)
    assert display.status_lines
    _run_two(display)
    text = out.getvalue()
    assert "a: running" in text
    assert "\x1b[" in text
    assert "b: fail" in text
    assert "a: ok" in text


def test_ci_true_means_plain_lines_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert not Display(parallel=True, live=False, stream=Terminal()).status_lines
