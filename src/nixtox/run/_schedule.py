"""Run realised envs: in ``depends`` order, at most ``jobs`` at once, stopping cleanly on Ctrl-C.

The scheduler runs each env's commands in a worker thread (the commands themselves are processes), so a
Ctrl-C in the main thread can stop every running command's process group and record what was
interrupted while the results of finished envs stay intact.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from nixtox.errors import EnvSelectionError
from nixtox.model import EnvResult, EnvSpec, RealisedEnv, Status
from nixtox.run._commands import stop_all_processes

__all__ = ["dependency_order", "schedule"]


def _dependencies(specs: Sequence[EnvSpec]) -> dict[str, list[str]]:
    """env key -> keys of selected envs it depends on (``depends`` globs match env names, as in tox)."""
    graph: dict[str, list[str]] = {}
    for spec in specs:
        deps = [
            other.key
            for other in specs
            if other.key != spec.key
            and any(fnmatch.fnmatchcase(other.name, pattern) for pattern in spec.config.depends)
        ]
        graph[spec.key] = deps
    return graph


def dependency_order(specs: Sequence[EnvSpec]) -> dict[str, list[str]]:
    """The dependency graph among ``specs``; a cycle is a clear error naming it."""
    graph = _dependencies(specs)
    labels = {s.key: s.label for s in specs}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = [*path[path.index(key) :], key]
            raise EnvSelectionError(
                "depends forms a cycle: " + " -> ".join(labels[k] for k in cycle) + " (remove one of them)"
            )
        state[key] = 1
        for dep in graph[key]:
            visit(dep, [*path, key])
        state[key] = 2

    for spec in specs:
        visit(spec.key, [])
    return graph


def schedule(
    specs: Sequence[EnvSpec],
    finished: Mapping[str, EnvResult],
    runnable: Mapping[str, RealisedEnv],
    *,
    jobs: int,
    run_one: Callable[[RealisedEnv], EnvResult],
    on_start: Callable[[EnvSpec], None] = lambda _spec: None,
    on_done: Callable[[EnvResult], None] = lambda _result: None,
    fail_fast: bool = False,
) -> dict[str, EnvResult]:
    """Run every ``runnable`` env once its dependencies finished; ``finished`` already have results.

    Returns results by env key. On KeyboardInterrupt every running command is stopped, running and
    waiting envs get status ``interrupted``, and the interrupt is re-raised after ``on_done`` calls.
    """
    graph = dependency_order(specs)
    results: dict[str, EnvResult] = dict(finished)
    waiting = [s for s in specs if s.key in runnable]
    running: dict[Future[EnvResult], EnvSpec] = {}
    started: dict[str, float] = {}
    stopped_by = ""  # why no further env starts (a fail-fast failure)
    pool = ThreadPoolExecutor(max_workers=max(jobs, 1), thread_name_prefix="nixtox-env")
    try:
        while waiting or running:
            if not stopped_by:
                for spec in list(waiting):
                    if len(running) >= max(jobs, 1):
                        break
                    if all(dep in results for dep in graph[spec.key]):
                        waiting.remove(spec)
                        on_start(spec)
                        started[spec.key] = time.monotonic()
                        running[pool.submit(run_one, runnable[spec.key])] = spec
            if not running:
                break  # fail-fast stopped launching (or nothing can start)
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                spec = running.pop(future)
                result = future.result()
                results[spec.key] = result
                on_done(result)
                if not stopped_by and _stops_the_run(result, fail_fast=fail_fast):
                    flag = "--fail-fast" if fail_fast else "fail_fast"
                    stopped_by = f"not run: {spec.label} failed ({flag})"
        for spec in waiting:  # not started because of a fail-fast failure
            results[spec.key] = _unrun(runnable[spec.key], Status.SKIP, stopped_by)
            on_done(results[spec.key])
    except KeyboardInterrupt:
        _interrupted(running, waiting, runnable, started, results=results, on_done=on_done)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _stops_the_run(result: EnvResult, *, fail_fast: bool) -> bool:
    """tox's rule: a failure (not a skip, not ``ignore_outcome``) stops scheduling under ``--fail-fast``
    or when the failed env itself sets ``fail_fast``."""
    failed = result.status not in (Status.OK, Status.SKIP) and not result.spec.config.ignore_outcome
    return failed and (fail_fast or result.spec.config.fail_fast)


def _unrun(realised: RealisedEnv, status: Status, reason: str, command_seconds: float = 0.0) -> EnvResult:
    exit_code = -2 if status == Status.INTERRUPTED else 0
    return EnvResult(
        spec=realised.spec, status=status, reason=reason, realised=realised, exit_code=exit_code,
        command_seconds=command_seconds,
    )  # fmt: skip


def _interrupted(
    running: Mapping[Future[EnvResult], EnvSpec],
    waiting: Sequence[EnvSpec],
    runnable: Mapping[str, RealisedEnv],
    started: Mapping[str, float],
    *,
    results: dict[str, EnvResult],
    on_done: Callable[[EnvResult], None],
) -> None:
    """Ctrl-C: stop every command, then record running and waiting envs as interrupted."""
    stop_all_processes()
    now = time.monotonic()
    for future, spec in running.items():
        try:
            result = replace(future.result(timeout=10), status=Status.INTERRUPTED, exit_code=-2)
        except Exception:  # the env was torn down mid-command
            seconds = now - started[spec.key]
            result = _unrun(runnable[spec.key], Status.INTERRUPTED, "", command_seconds=seconds)
        results[spec.key] = result
        on_done(result)
    for spec in waiting:
        result = _unrun(runnable[spec.key], Status.INTERRUPTED, "not started")
        results[spec.key] = result
        on_done(result)
