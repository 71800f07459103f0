from __future__ import annotations

from collections.abc import Sequence

from nixtox.model import EnvResult, Status

__all__ = ["INTERRUPTED", "exit_code", "summary_lines"]

#: tox's exit code for an interrupted run (-2, i.e. 254 as a process status)
INTERRUPTED = -2


def _succeeded(result: EnvResult) -> bool:
    return result.status in (Status.OK, Status.SKIP) or result.spec.config.ignore_outcome


def _line(result: EnvResult) -> tuple[str, str]:
    total = result.setup_seconds + result.command_seconds
    timing = f"({total:.2f}=setup[{result.setup_seconds:.2f}]+cmd[{result.command_seconds:.2f}] seconds)"
    if result.status == Status.OK:
        cached = ", cached" if result.realised and result.realised.cached else ""
        return f"  {result.spec.label}: OK {timing}{cached}", "green"
    if result.status == Status.SKIP:
        return f"  {result.spec.label}: SKIP ({result.reason})", "yellow"
    if result.spec.config.ignore_outcome:
        return f"  {result.spec.label}: IGNORED FAIL code {result.exit_code} {timing}", "yellow"
    if result.status == Status.FAIL:
        return f"  {result.spec.label}: FAIL code {result.exit_code} {timing}", "red"
    if result.status == Status.INTERRUPTED:
        return f"  {result.spec.label}: INTERRUPTED {timing}", "red"
    return (
        f"  {result.spec.label}: ERROR ({result.reason.splitlines()[0] if result.reason else 'error'})",
        "red",
    )


def summary_lines(results: Sequence[EnvResult], seconds: float) -> list[tuple[str, str]]:
    """(text, colour) lines in tox 4's format, ending with ``congratulations :)`` or a failure line."""
    lines = [_line(r) for r in results]
    if all(_succeeded(r) for r in results) and not all(r.status == Status.SKIP for r in results):
        lines.append((f"  congratulations :) ({seconds:.2f} seconds)", "green"))
    else:
        lines.append((f"  evaluation failed :( ({seconds:.2f} seconds)", "red"))
    return lines


def exit_code(results: Sequence[EnvResult]) -> int:
    """tox's rule: 0 when all succeeded; one env -> its own code; several -> 1."""
    if all(_succeeded(r) for r in results) and not all(r.status == Status.SKIP for r in results):
        return 0
    if len(results) == 1:
        only = results[0]
        return 1 if only.status == Status.SKIP else (only.exit_code or 1)
    return 1
