"""The lines tox 4 logs around an env's commands, in its exact shapes, and how they are coloured.

tox prints ``py312: commands[0]> pytest -q`` before a command and, when it fails,
``py312: exit 1 (0.43 seconds) /proj> pytest -q pid=12345`` after it (tox/tox_env/api.py and
tox/execute/api.py). These lines reach the display through the same sink as the command's output, so
they are a ``str`` subclass: the display can tell them from output (to colour them, filter them by
verbosity and never prefix them twice) while any other consumer still sees plain text.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from nixtox.model import Command, CommandOutcome, EnvSpec

__all__ = [
    "CRITICAL",
    "ERROR",
    "INFO",
    "WARNING",
    "LogLine",
    "Paint",
    "command_line",
    "exit_lines",
    "message_line",
    "redact_argv",
    "run_id_of",
    "shown",
]

#: tox's logging levels, as the numbers of the ``logging`` module: verbosity N shows levels >= _LEVELS[N].
INFO, WARNING, ERROR, CRITICAL = 20, 30, 40, 50
#: tox's verbosity -> lowest level shown (tox/report.py LEVELS); the default verbosity is 2.
_LEVELS = {0: CRITICAL, 1: ERROR, 2: WARNING, 3: INFO}

# colorama's codes, which tox writes
RESET_ALL, BRIGHT, DIM, NORMAL = "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[22m"
RED, GREEN, YELLOW, MAGENTA, CYAN, WHITE, RESET = (
    "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[36m", "\x1b[37m", "\x1b[39m",
)  # fmt: skip
_LEVEL_COLOUR = {INFO: WHITE, WARNING: CYAN, ERROR: RED, CRITICAL: RED}


class LogLine(str):
    """``"<env>: <message>\\n"``: a line of tox's log, not of a command's output."""

    env: str
    message: str
    level: int
    #: for a command line: (run_id, cwd shown), which tox colours apart from the command
    parts: tuple[str, str, str] | None

    def __new__(
        cls, env: str, message: str, level: int = WARNING, parts: tuple[str, str, str] | None = None
    ) -> LogLine:
        line = super().__new__(cls, f"{env}: {message}\n")
        line.env, line.message, line.level, line.parts = env, message, level, parts
        return line

    def visible(self, verbosity: int) -> bool:
        return self.level >= _LEVELS.get(verbosity, INFO if verbosity > 3 else CRITICAL)

    def painted(self) -> str:
        """The line with tox's colours: the env bold magenta, the message by level (tox/report.py)."""
        head = f"{BRIGHT}{MAGENTA}{self.env}:{RESET_ALL}{_LEVEL_COLOUR[self.level]}"
        if self.parts is not None:
            run_id, cwd, command = self.parts
            return f"{head} {run_id}{NORMAL}{cwd}{DIM}>{RESET_ALL} {command}{RESET_ALL}\n"
        return f"{head} {self.message}{RESET_ALL}\n"


class Paint:
    """Colours for text the display writes itself: none at all when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, colour: str) -> str:
        return f"{colour}{text}{RESET}" if self.enabled and colour else text

    def line(self, text: str) -> str:
        """A line that reached the display: tox's lines in tox's colours, command output as it came."""
        if self.enabled and isinstance(text, LogLine):
            return text.painted()
        return str(text)


#: names that look secret (tox/util/redact.py, after gitleaks' generic-api-key rule)
SECRET_NAME = re.compile(
    r".*(access|api|auth|client|cred|key|passwd|password|private|pwd|secret|token).*",
    re.IGNORECASE | re.DOTALL,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#\s]+)@")
_INLINE_FLAG = re.compile(r"(?<![^\s'\"=;])-(?:[^\s'\"=]|[\r\n])*=")


def redact_argv(argv: Sequence[str]) -> list[str]:
    """tox's masking of command lines it prints or records: a URL's ``user:password@`` and the value of a
    secret-looking ``--token=VALUE`` become asterisks."""
    result = []
    for raw in argv:
        token = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{'*' * len(m['userinfo'])}@", raw)
        flag = next((m for m in _INLINE_FLAG.finditer(token) if SECRET_NAME.match(m.group())), None)
        result.append(token if flag is None else token[: flag.end()] + "*" * (len(token) - flag.end()))
    return result


def shown(command: Command) -> str:
    """A command as tox shows it: the configured argv, shell-quoted, without the ``-``/``!`` prefix,
    secrets masked."""
    return shlex.join(redact_argv(command.argv))


def run_id_of(spec: EnvSpec, phase: str, command: Command) -> str:
    """``commands[1]``: the command's phase and its position in the config (tox's ``run_id``)."""
    commands: Sequence[Command] = getattr(spec.config, phase, ())
    index = next((i for i, c in enumerate(commands) if c is command), None)
    if index is None:
        index = next((i for i, c in enumerate(commands) if c == command), 0)
    return f"{phase}[{index}]"


def _cwd_shown(cwd: Path) -> str:
    """tox shows the cwd of a command only when it is not where tox was started."""
    here = Path.cwd()
    if cwd == here:
        return ""
    try:
        return f" {here.relative_to(cwd)}"
    except ValueError:
        return f" {cwd}"


def command_line(spec: EnvSpec, phase: str, command: Command, cwd: Path) -> LogLine:
    """``py312: commands[0]> pytest -q``, logged before the command starts."""
    run_id, where, text = run_id_of(spec, phase, command), _cwd_shown(cwd), shown(command)
    return LogLine(spec.label, f"{run_id}{where}> {text}", WARNING, (run_id, where, text))


def _raw_failed(outcome: CommandOutcome) -> bool:
    """Failed before ``-`` is applied: a non-zero exit, or for ``!`` a zero one."""
    if outcome.command.invert_exit_code:
        return outcome.exit_code == 0
    return outcome.exit_code != 0


def exit_lines(spec: EnvSpec, outcome: CommandOutcome, cwd: Path, pid: int | None) -> list[LogLine]:
    """``py312: exit 1 (0.43 seconds) /proj> pytest -q pid=12345`` after a command: at CRITICAL when it
    failed (shown at every verbosity), at INFO when it passed (shown with ``-v``); an ignored failure
    (``-``) is followed by tox's note that it counts as a success."""
    meta = f" pid={pid}" if pid is not None else ""
    text = f"exit {outcome.exit_code} ({outcome.seconds:.2f} seconds) {cwd}> {shown(outcome.command)}{meta}"
    failed = _raw_failed(outcome)
    lines = [LogLine(spec.label, text, CRITICAL if failed else INFO)]
    if failed and outcome.command.ignore_exit_code:
        lines.append(
            LogLine(spec.label, "command failed but is marked ignore outcome so handling it as success")
        )
    return lines


def message_line(label: str, text: str, level: int = ERROR) -> LogLine:
    """One line about an env (a missing interpreter, a build error's summary), tox-style."""
    return LogLine(label, text.rstrip("\n"), level)


def log_path_shown(path: Path) -> str:
    """A log file's path as the summary shows it: relative to the current directory when below it."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)
