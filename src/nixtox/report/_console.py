"""The console's closing lines and per-env result lines, in tox 4's shapes (tox/session/cmd/run/common.py
``_report`` and tox/util/spinner.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from nixtox.model import EnvResult
from nixtox.report._lines import GREEN, RED, YELLOW, log_path_shown

__all__ = ["INTERRUPTED", "done_line", "exit_code", "human_seconds", "summary_lines"]

#: tox's exit code for an interrupted run (-2, i.e. 254 as a process status)
INTERRUPTED = -2

#: tox's outcome marks, and the ASCII ones it falls back to where the stream cannot encode them
MARKS = {"ok": "✔", "fail": "✖", "skip": "⚠"}
ASCII_MARKS = {"ok": "+", "fail": "!", "skip": "?"}


def _succeeded(result: EnvResult) -> bool:
    return result.status in ("ok", "skip") or result.spec.config.ignore_outcome


def _timing(result: EnvResult) -> str:
    """``(1.46=setup[0.04]+cmd[0.71,0.71] seconds)``: tox's verbosity-2 shape, one number per command."""
    total = result.setup_seconds + result.command_seconds
    each = [o.seconds for o in result.commands]
    if not each:
        return f"({total:.2f} seconds)"
    setup = total - sum(each)
    return f"({total:.2f}=setup[{setup:.2f}]+cmd[{','.join(f'{s:.2f}' for s in each)}] seconds)"


def _line(result: EnvResult) -> tuple[str, str]:
    label, timing = result.spec.label, _timing(result)
    if result.status == "ok":
        cached = ", cached" if result.realised and result.realised.cached else ""
        return f"  {label}: OK {timing}{cached}", GREEN
    if result.status == "skip":
        return f"  {label}: SKIP {timing}", YELLOW
    if result.status == "fail" and result.spec.config.ignore_outcome:
        return f"  {label}: IGNORED FAIL code {result.exit_code} {timing}", YELLOW
    if result.status == "fail":
        return f"  {label}: FAIL code {result.exit_code} {timing}", RED
    if result.status == "interrupted":
        return f"  {label}: INTERRUPTED {timing}", RED
    # the reason was shown when the env ended (once); the summary only says what happened
    return f"  {label}: ERROR {timing}", RED


def _failed_log(result: EnvResult, log_of: Callable[[EnvResult], Path | None]) -> str | None:
    if result.status not in ("fail", "interrupted") or result.spec.config.ignore_outcome:
        return None
    path = log_of(result)
    return f"    log: {log_path_shown(path)}" if path is not None else None


def summary_lines(
    results: Sequence[EnvResult],
    seconds: float,
    *,
    log_of: Callable[[EnvResult], Path | None] | None = None,
) -> list[tuple[str, str]]:
    """(text, colour) lines in tox 4's format, ending with ``congratulations :)`` or a failure line.

    ``log_of`` names the log of a failed env's failing command: it follows that env's line, indented,
    so tox's own line keeps its exact shape."""
    lines: list[tuple[str, str]] = []
    for result in results:
        lines.append(_line(result))
        log = _failed_log(result, log_of) if log_of is not None else None
        if log is not None:
            lines.append((log, ""))
    if all(_succeeded(r) for r in results) and not all(r.status == "skip" for r in results):
        lines.append((f"  congratulations :) ({seconds:.2f} seconds)", GREEN))
    else:
        lines.append((f"  evaluation failed :( ({seconds:.2f} seconds)", RED))
    return lines


def human_seconds(seconds: float) -> str:
    """tox's ``td_human_readable``: ``2.45 seconds``, ``1 minute 3.5 seconds``, ``1 second``."""
    texts: list[str] = []
    centiseconds = round(seconds * 100)
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        value: str | None = None
        if name == "second" and (centiseconds or not texts):
            value = f"{centiseconds / 100:.2f}".rstrip("0").rstrip(".")
        elif centiseconds >= size * 100:
            count, centiseconds = divmod(centiseconds, size * 100)
            value = str(count)
        if value is not None:
            texts.append(f"{value} {name}{'' if value == '1' else 's'}")
    return " ".join(texts)


def done_line(result: EnvResult, seconds: float, *, unicode: bool = True) -> tuple[str, str]:
    """``py311: OK ✔ in 2.45 seconds``: tox's line when an env ends (not for the last one of a run); an
    ignored failure is a FAIL here, as in tox, and IGNORED in the summary."""
    marks = MARKS if unicode else ASCII_MARKS
    if result.status == "skip":
        word, mark, colour = "SKIP", marks["skip"], YELLOW
    elif result.status == "ok":
        word, mark, colour = "OK", marks["ok"], GREEN
    else:
        word = {"error": "ERROR", "interrupted": "INTERRUPTED"}.get(result.status, "FAIL")
        mark, colour = marks["fail"], RED
    return f"{result.spec.label}: {word} {mark} in {human_seconds(seconds)}", colour


def exit_code(results: Sequence[EnvResult], *, fail_fast: bool = False) -> int:
    """tox's rule: 0 when all succeeded; one env -> its own code; several -> 1, except under fail-fast
    (``--fail-fast`` or any env's ``fail_fast``), where the run stopped at the first failure: its code."""
    if all(_succeeded(r) for r in results) and not all(r.status == "skip" for r in results):
        return 0
    if len(results) == 1:
        only = results[0]
        return 1 if only.status == "skip" else (only.exit_code or 1)
    if fail_fast or any(r.spec.config.fail_fast for r in results):
        first = next((r for r in results if not _succeeded(r)), None)
        if first is not None:
            return first.exit_code or 1
    return 1
