"""What a user sees: tox's lines and spinner, output held back or streamed, colour only where it belongs."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

from nixtox.cli._display import Display, colour_enabled
from nixtox.model import Command, CommandOutcome, EnvResult, EnvSpec
from nixtox.report._lines import command_line, exit_lines
from tests.unit._values import spec

PYTEST = Command(("pytest", "-q"))


class Stream(io.StringIO):
    """A text stream that can encode tox's marks, as a UTF-8 stdout can."""

    encoding = "utf-8"


class Terminal(Stream):
    def isatty(self) -> bool:
        return True


def screen(text: str) -> list[str]:
    """The lines a terminal shows after ``text``: ``\\r`` returns, ``\\x1b[K`` erases to the line's end."""
    lines, line, col = [], "", 0
    for token in re.findall(r"\x1b\[\?25[hl]|\x1b\[K|\x1b\[[0-9;]*m|\r|\n|[^\x1b\r\n]", text):
        if token == "\n":
            lines.append(line)
            line, col = "", 0
        elif token == "\r":
            col = 0
        elif token == "\x1b[K":
            line = line[:col]
        elif not token.startswith("\x1b"):
            line = line[:col] + token + line[col + 1 :]
            col += 1
    return [*lines, line] if line else lines


def run_commands(display: Display, env: EnvSpec, *, code: int = 0, output: str = "3 passed\n") -> None:
    display.env_output(env, command_line(env, "commands", env.config.commands[0], Path.cwd()))
    display.env_output(env, output)
    ran = CommandOutcome(env.config.commands[0], "commands", code, output, 0.0, 0.25)
    for line in exit_lines(env, ran, Path("/proj"), 4242):
        display.env_output(env, line)


def result(env: EnvSpec, status: str = "ok", code: int = 0, reason: str = "") -> EnvResult:
    return EnvResult(spec=env, status=status, exit_code=code, reason=reason)


def three_envs(display: Display, *, failing: str = "b") -> None:
    envs = [spec(name, commands=(PYTEST,)) for name in ("a", "b", "c")]
    display.expect(3)
    for env in envs:
        display.env_started(env)
    for env in envs:
        fails = env.name == failing
        run_commands(display, env, code=1 if fails else 0, output=f"{env.name} says hi\n")
    for env in envs:
        fails = env.name == failing
        display.env_done(result(env, "fail" if fails else "ok", 1 if fails else 0))
    display.close()


def test_sequential_streams_output_between_toxs_lines() -> None:
    out = Stream()
    display = Display(parallel=False, live=False, stream=out)
    a, b = spec("a", commands=(PYTEST,)), spec("b", commands=(PYTEST,))
    display.env_started(a)
    run_commands(display, a, code=1)
    display.env_done(result(a, "fail", 1))
    display.env_started(b)
    run_commands(display, b)
    display.env_done(result(b))
    display.close()
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "a: commands[0]> pytest -q",
        "3 passed",
        "a: exit 1 (0.25 seconds) /proj> pytest -q pid=4242",
    ]
    assert re.fullmatch(r"a: FAIL ✖ in \d+(\.\d+)? seconds?", lines[3])
    assert lines[4:] == ["b: commands[0]> pytest -q", "3 passed"]  # no line after the last env


def test_parallel_shows_only_the_failing_envs_output_and_no_escape_codes() -> None:
    out = Stream()
    three_envs(Display(parallel=True, live=False, stream=out))
    text = out.getvalue()
    assert "\x1b" not in text
    assert "\r" not in text
    lines = text.splitlines()
    assert re.fullmatch(r"a: OK ✔ in .+", lines[0])
    assert re.fullmatch(r"b: FAIL ✖ in .+", lines[1])
    assert lines[2:5] == [
        "b: commands[0]> pytest -q",
        "b says hi",
        "b: exit 1 (0.25 seconds) /proj> pytest -q pid=4242",
    ]
    assert len(lines) == 5  # c was last: its line is the summary's job
    assert "a says hi" not in text


def test_parallel_show_output_shows_a_passing_envs_output() -> None:
    out = Stream()
    display = Display(parallel=True, live=False, stream=out)
    shown = dataclasses.replace(spec("a", commands=(PYTEST,)))
    shown = dataclasses.replace(shown, config=dataclasses.replace(shown.config, parallel_show_output=True))
    display.env_started(shown)
    run_commands(display, shown)
    display.env_done(result(shown))
    assert "3 passed" in out.getvalue()


def test_live_output_is_prefixed_once() -> None:
    out = Stream()
    three_envs(Display(parallel=True, live=True, stream=out))
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["a: commands[0]> pytest -q", "a: a says hi", "b: commands[0]> pytest -q"]
    assert not [line for line in lines if re.match(r"^(\w): \1: ", line)]


def test_terminal_spinner_is_one_line_that_never_stays() -> None:
    out = Terminal()
    display = Display(parallel=True, live=False, stream=out, colour=False)
    assert display.spinner
    a, b = spec("a", commands=(PYTEST,)), spec("b", commands=(PYTEST,))
    display.expect(2)
    display.env_started(a)
    display.env_started(b)
    assert display.spinner_text().endswith("[2/2] a | b")
    display.env_done(result(a))
    display.env_done(result(b, "fail", 1))
    display.close()
    text = out.getvalue()
    assert "[2/2] a | b" in text  # it was drawn
    assert "[1/2] b" in text  # redrawn when a ended
    shown = screen(text)
    assert len(shown) == 1  # b was the last env: the summary follows; and no spinner line is left
    assert shown[0].startswith("a: OK ✔ in ")
    assert text.endswith("\x1b[?25h")  # the cursor is back


def test_ci_true_or_dumb_terminal_means_no_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert not Display(parallel=True, live=False, stream=Terminal()).spinner
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "dumb")
    assert not Display(parallel=True, live=False, stream=Terminal()).spinner


def test_missing_interpreter_is_one_line_printed_once() -> None:
    out = Stream()
    display = Display(parallel=False, live=False, stream=out)
    missing = spec("py39")
    reason = (
        "env py39: no interpreter for py39 (python3.9): searched host (PATH, /root/.pyenv/versions/*/bin)"
    )
    display.env_done(result(missing, "error", 1, reason))
    display.close()
    assert (
        out.getvalue()
        == "py39: no interpreter for py39 (python3.9): searched host (PATH, /root/.pyenv/versions/*/bin)\n"
    )


def test_verbosity_hides_command_lines_with_q_and_shows_exit_0_with_v() -> None:
    quiet, loud = Stream(), Stream()
    for stream, verbosity in ((quiet, 1), (loud, 3)):
        display = Display(parallel=False, live=False, stream=stream, verbosity=verbosity)
        env = spec("a", commands=(PYTEST,))
        run_commands(display, env)
        run_commands(display, env, code=2)
    assert quiet.getvalue().splitlines() == [
        "3 passed",
        "3 passed",
        "a: exit 2 (0.25 seconds) /proj> pytest -q pid=4242",
    ]
    assert "a: exit 0 (0.25 seconds) /proj> pytest -q pid=4242" in loud.getvalue().splitlines()


def test_colour_is_toxs_on_a_terminal_and_absent_elsewhere() -> None:
    coloured = Stream()
    display = Display(parallel=False, live=False, stream=coloured, colour=True)
    env = spec("a", commands=(PYTEST,))
    run_commands(display, env, code=1)
    lines = coloured.getvalue().splitlines()
    assert lines[0] == "\x1b[1m\x1b[35ma:\x1b[0m\x1b[36m commands[0]\x1b[22m\x1b[2m>\x1b[0m pytest -q\x1b[0m"
    assert lines[1] == "3 passed"  # the command's own output is passed on as it came
    assert lines[2].startswith("\x1b[1m\x1b[35ma:\x1b[0m\x1b[31m exit 1")


@pytest.mark.parametrize(
    ("environ", "choice", "tty", "expected"),
    [
        ({}, None, True, True),
        ({}, None, False, False),
        ({"NO_COLOR": "1"}, None, True, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, None, True, False),  # tox: NO_COLOR wins
        ({"FORCE_COLOR": "1"}, None, False, True),
        ({"TERM": "dumb"}, None, True, False),
        ({"TTY_COMPATIBLE": "1"}, None, False, True),
        ({"NO_COLOR": "1"}, "yes", False, True),  # --colored yes wins
        ({"FORCE_COLOR": "1"}, "no", True, False),
        ({"NO_COLOR": ""}, None, True, True),  # empty means unset
    ],
)
def test_colour_rules(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], choice: str | None, tty: bool, expected: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert colour_enabled(Terminal() if tty else Stream(), choice) is expected
