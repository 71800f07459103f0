"""A check's record (the output of ``mkCheck``'s builder, ``nix/checks/run_check.py``) as an ``EnvResult``.

An env whose commands ran inside Nix gets the same result a host run gives: one ``CommandOutcome`` per
command (tox's command records in the result JSON, the console's lines), tox's per-command log files
in ``.nixtox/envs/<key>/log``, and the JUnit files its commands wrote, put back where a host run
would have written them (with their recorded modification time, so the JUnit report merges them by
the same rule). The lines the builder streamed while it ran (``@nixtox {...}`` markers and output)
become the lines a host run displays.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nixtox.errors import BuildError
from nixtox.model import Command, CommandOutcome, EnvResult, EnvSpec, NixRun, Phase, RealisedEnv, Status
from nixtox.report._lines import command_line, exit_lines
from nixtox.report._logs import LOG_DIR, write_command_logs
from nixtox.run._environ import DEFAULT_PASS_ENV

__all__ = ["CheckRecord", "LiveLines", "read_record", "record_result", "replay"]

#: the oldest ``result.json`` layout with outputs and times (``run_check.RESULT_VERSION``)
_MIN_VERSION = 2
_MARKER = "@nixtox "

OutputSink = Callable[[str], None]


@dataclass(frozen=True)
class RecordedJUnit:
    #: where the command wrote it, with ``@projectRoot@`` / ``@envDir@`` for the places the check made
    path: str
    mtime: float
    text: str


@dataclass(frozen=True)
class RecordedCommand:
    phase: str
    index: int
    exit_code: int
    output: str
    started: float
    seconds: float
    executable: str | None
    junit: tuple[RecordedJUnit, ...] = ()


@dataclass(frozen=True)
class CheckRecord:
    exit_code: int
    host: str
    started: float
    finished: float
    commands: tuple[RecordedCommand, ...]
    environ: Mapping[str, str]


def _command(raw: Mapping[str, Any]) -> RecordedCommand:
    junit = tuple(
        RecordedJUnit(str(j["path"]), float(j["mtime"]), str(j["text"])) for j in raw.get("junit") or ()
    )
    return RecordedCommand(
        phase=str(raw["phase"]),
        index=int(raw["index"]),
        exit_code=int(raw["exit_code"]),
        output=str(raw.get("output", "")),
        started=float(raw["started"]),
        seconds=float(raw["seconds"]),
        executable=str(raw["executable"]) if raw.get("executable") else None,
        junit=junit,
    )


def read_record(result_path: Path, store_dir: Path | None = None) -> CheckRecord:
    """The record in ``result_path`` (read at ``store_dir``: the file system path of a chroot store's
    copy, else ``result_path`` itself); a missing or damaged one is a BuildError."""
    where = store_dir or result_path
    try:
        data = json.loads((where / "result.json").read_text(encoding="utf-8"))
        if int(data.get("version", 1)) < _MIN_VERSION:
            raise ValueError(f"layout {data.get('version', 1)}, not {_MIN_VERSION} or later")
        return CheckRecord(
            exit_code=int(data["exit_code"]),
            host=str(data.get("host", "")),
            started=float(data["started"]),
            finished=float(data["finished"]),
            commands=tuple(_command(c) for c in data["commands"]),
            environ={str(k): str(v) for k, v in (data.get("environ") or {}).items()},
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BuildError(f"the result {result_path} cannot be read ({exc}); run with --rerun") from None


def ran_on(record: CheckRecord) -> str:
    """``local`` when the record names this machine, else the machine it names."""
    return "local" if not record.host or record.host == socket.gethostname() else record.host


def _configured(spec: EnvSpec, phase: str, index: int, argv_fallback: str | None) -> Command:
    commands: tuple[Command, ...] = getattr(spec.config, phase, ())
    if 0 <= index < len(commands):
        return commands[index]
    return Command((argv_fallback or "?",))  # the config changed under a result read from the state


def outcomes(spec: EnvSpec, record: CheckRecord) -> tuple[CommandOutcome, ...]:
    return tuple(
        CommandOutcome(
            command=_configured(spec, c.phase, c.index, c.executable),
            phase=Phase(c.phase),
            exit_code=c.exit_code,
            output=c.output,
            started=c.started,
            seconds=c.seconds,
            executable=c.executable,
        )
        for c in record.commands
    )


def _host_path(recorded: str, spec: EnvSpec, root: Path) -> Path:
    return Path(recorded.replace("@envDir@", str(spec.env_dir)).replace("@projectRoot@", str(root)))


def materialise_junit(spec: EnvSpec, record: CheckRecord, root: Path) -> None:
    """Write the JUnit files the commands wrote where a host run writes them, with their mtimes."""
    for command in record.commands:
        for junit in command.junit:
            target = _host_path(junit.path, spec, root)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(junit.text, encoding="utf-8")
                os.utime(target, (junit.mtime, junit.mtime))
            except OSError:
                continue  # a report without this file says so; the result stands


def record_result(
    realised: RealisedEnv, record: CheckRecord, nix_run: NixRun, *, root: Path, setup_seconds: float
) -> EnvResult:
    """The env's result, as ``run_env`` gives it for a host run, plus where and when it ran."""
    spec = realised.spec
    done = outcomes(spec, record)
    materialise_junit(spec, record, root)
    log_dir = spec.env_dir / LOG_DIR
    write_command_logs(
        log_dir, spec, done, environ=record.environ, cwd=spec.config.change_dir,
        env_bin=realised.store_path / "bin", default_pass_env=DEFAULT_PASS_ENV,
    )  # fmt: skip
    failed = next((o for o in done if not o.ok), None)
    return EnvResult(
        spec=spec,
        status=Status.OK if failed is None else Status.FAIL,
        reason="" if failed is None else f"exit {failed.exit_code} from {' '.join(failed.command.argv)}",
        realised=realised,
        commands=done,
        setup_seconds=setup_seconds,
        command_seconds=sum(o.seconds for o in done),
        exit_code=0 if failed is None else (failed.exit_code or 1),
        log_dir=log_dir,
        nix_run=nix_run,
    )


class LiveLines:
    """The builder's streamed log of one env, as the lines a host run displays."""

    def __init__(self, spec: EnvSpec, sink: OutputSink) -> None:
        self.spec = spec
        self.sink = sink

    def feed(self, line: str) -> None:
        if not line.startswith(_MARKER):
            self.sink(line + "\n")
            return
        try:
            event = json.loads(line[len(_MARKER) :])
            phase, index = str(event["phase"]), int(event["index"])
            command = _configured(self.spec, phase, index, None)
            if event["event"] == "start":
                self.sink(command_line(self.spec, phase, command, self.spec.config.change_dir))
                return
            outcome = CommandOutcome(
                command, Phase(phase), int(event["exit_code"]), "", 0.0, float(event["seconds"])
            )
        except (ValueError, TypeError, KeyError):
            self.sink(line + "\n")  # not one of the builder's markers after all
            return
        for text in exit_lines(self.spec, outcome, self.spec.config.change_dir, None):
            self.sink(text)


def replay(result: EnvResult, sink: OutputSink) -> None:
    """A cached result's lines, as its run showed them: each command line, its output, its exit line."""
    cwd = result.spec.config.change_dir
    for outcome in result.commands:
        sink(command_line(result.spec, outcome.phase, outcome.command, cwd))
        if outcome.output:
            sink(outcome.output if outcome.output.endswith("\n") else outcome.output + "\n")
        for text in exit_lines(result.spec, outcome, cwd, None):
            sink(text)
