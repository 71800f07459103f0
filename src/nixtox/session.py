"""The pipeline, end to end: load -> select -> interpreters -> lock -> render -> realise -> run.

Every stage takes and returns plain values; a user-facing error in one env becomes that env's result
(``error`` or ``skip``) and the other envs go on, as in tox.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nixtox.config import load_project
from nixtox.errors import InterpreterNotFound, NixtoxError
from nixtox.interpreters import env_interpreters
from nixtox.lock import LOCK_FILE_NAME, Locker, LockFile, default_engine, effective_index_url, lock_env
from nixtox.model import EnvResult, EnvSpec, Interpreter, LockedEnv, Project
from nixtox.nix import NixBackend, NixOptions
from nixtox.plugins import get_plugin_manager
from nixtox.pyproject import read_pyproject
from nixtox.realise import realise_envs
from nixtox.render import EnvInputs, render_env, source_files_nix
from nixtox.run import OutputSink, allow_commands, run_env, schedule
from nixtox.select import Selection, select_envs
from nixtox.source import scan_source
from nixtox.state import locked_work_dir, selected_store

if TYPE_CHECKING:
    from nixtox.cache import CacheOverrides, CacheSession

__all__ = [
    "Events",
    "RunOptions",
    "SessionInterrupted",
    "SessionResult",
    "jobs_for",
    "lock_selected",
    "prepare_envs",
    "run_session",
]


@dataclass(frozen=True)
class RunOptions:
    path: Path | None = None
    config_file: Path | None = None
    selection: Selection = field(default_factory=Selection)
    posargs: tuple[str, ...] | None = None
    recreate: bool = False
    locked: bool = False
    hash_seed: str | None = None
    nix_options: NixOptions = field(default_factory=NixOptions)
    #: ``-p``: 0 (one env at a time), N, or "auto" (one per core)
    parallel: int | str = 0
    fail_fast: bool = False
    #: binary cache (issue 6): push the realised envs to ``push_to``; command-line cache settings
    push: bool = False
    cache: CacheOverrides | None = None


@dataclass(frozen=True)
class SessionResult:
    project: Project
    results: tuple[EnvResult, ...]
    seconds: float


@dataclass(frozen=True)
class Prepared:
    """Envs ready to run (realised) and envs that already have their result (skip/error)."""

    project: Project
    #: the selected envs, in selection order
    specs: tuple[EnvSpec, ...]
    ready: tuple[EnvResult, ...]
    done: dict[str, EnvResult]


def lock_selected(
    project: Project,
    specs: Sequence[EnvSpec],
    done: dict[str, EnvResult],
    seconds: dict[str, float],
    *,
    locked: bool,
) -> list[LockedEnv]:
    """Resolve each env's interpreter and lock it (reusing current nixtox.lock entries, writing the file
    when an entry changed unless ``locked``). A failing env gets its result in ``done`` (skip or error)
    and the others go on; ``seconds`` receives the time spent per env."""
    lock_path = project.core.root / LOCK_FILE_NAME
    lock_file = LockFile.read(lock_path)
    before = dict(lock_file.entries)
    locker: Locker | None = None
    interpreters: dict[str | None, Interpreter] = {}
    result: list[LockedEnv] = []
    for spec in specs:
        start = time.monotonic()
        try:
            interpreter, build_interpreter = env_interpreters(spec, project.core, interpreters)
            if locker is None:
                locker = Locker(default_engine(), effective_index_url(None))
            result.append(
                lock_env(
                    project,
                    spec,
                    interpreter,
                    build_interpreter=build_interpreter,
                    lock=lock_file,
                    locked=locked,
                    locker=locker,
                )
            )
        except InterpreterNotFound as exc:
            skip = project.core.skip_missing_interpreters
            done[spec.key] = EnvResult(
                spec=spec, status="skip" if skip else "error", reason=exc.message, exit_code=0 if skip else 1
            )
        except NixtoxError as exc:
            done[spec.key] = EnvResult(spec=spec, status="error", reason=exc.message, exit_code=1)
        seconds[spec.key] = time.monotonic() - start
    if not locked and lock_file.entries != before:
        fresh = {key: entry for key, entry in lock_file.entries.items() if before.get(key) != entry}
        LockFile.update(lock_path, put=fresh)
    return result


def _build_slots(options: RunOptions) -> NixOptions:
    """Nix builds and test commands share the machine: ``-p N`` builds N derivations at once with
    cores/N cores each; one env at a time (``-p 0``) lets Nix use every core."""
    cpus = os.cpu_count() or 1
    jobs = jobs_for(options.parallel) if options.parallel != 0 else cpus
    return replace(options.nix_options, max_jobs=jobs, cores=max(cpus // jobs, 1))


def prepare_envs(
    options: RunOptions, *, nix: NixBackend | None = None, notify: OutputSink | None = None
) -> Prepared:
    """Every stage up to a realised store path per selected env."""
    project = load_project(options.path, config_file=options.config_file, posargs=options.posargs)
    if notify is not None:
        for warning in project.core.warnings:
            notify(f"warning: {warning}\n")
    specs = select_envs(project, options.selection)
    done: dict[str, EnvResult] = {}
    seconds: dict[str, float] = {}
    locked = lock_selected(project, specs, done, seconds, locked=options.locked)
    name = read_pyproject(project.core.root).name or project.core.root.name
    tree = scan_source(project.core.root, warn=notify)
    rendered: list[EnvInputs] = []
    for env in locked:
        start = time.monotonic()
        try:
            rendered.append(render_env(env, root=project.core.root, project_name=name, tree=tree))
        except NixtoxError as exc:
            done[env.spec.key] = EnvResult(spec=env.spec, status="error", reason=exc.message, exit_code=1)
        seconds[env.spec.key] += time.monotonic() - start
    work_dir = project.core.root / ".nixtox"

    @functools.cache
    def cache() -> CacheSession:
        from nixtox.cache import open_cache  # noqa: PLC0415 - a warm run needs neither Nix nor caches

        return open_cache(
            project.core.extra, _build_slots(options), overrides=options.cache, locked=locked,
            notify=notify, push=options.push,
        )  # fmt: skip

    if options.push:
        cache()  # a missing secret key or push target fails before anything builds
    with locked_work_dir(work_dir):
        outcome = realise_envs(
            rendered,
            work_dir=work_dir,
            nix=nix or _OnFirstUse(lambda: cache().reporting),
            recreate=options.recreate,
            shared_files={"source-files.nix": source_files_nix(tree)} if tree.files is not None else None,
            notify=notify,
            store=selected_store(options.cache.nix_store if options.cache else None),
        )
    ready: list[EnvResult] = []
    hook = get_plugin_manager().hook
    for inputs in rendered:
        spec = inputs.rendered.locked.spec
        if spec.key in outcome.failed:
            done[spec.key] = EnvResult(
                spec=spec, status="error", reason=outcome.failed[spec.key], exit_code=1
            )
            continue
        realised = outcome.realised[spec.key]
        if not realised.cached:
            hook.nixtox_env_updated(spec=spec, realised=realised)
        setup = seconds[spec.key] + realised.setup_seconds
        ready.append(EnvResult(spec=spec, status="ready", realised=realised, setup_seconds=setup))
    if options.push and ready:
        cache().push([r.realised for r in ready if r.realised is not None])
    return Prepared(project, tuple(specs), tuple(ready), done)


class _OnFirstUse:
    """A NixBackend created on first use: the fingerprint fast path never touches Nix or the caches."""

    def __init__(self, make: Callable[[], NixBackend]) -> None:
        self._make = make

    def __getattr__(self, name: str) -> Any:
        return getattr(self._make(), name)


class Events(Protocol):
    """What a front end (the CLI's display) hears while a session runs; called from worker threads."""

    def notify(self, text: str) -> None: ...

    def env_started(self, spec: EnvSpec) -> None: ...

    def env_output(self, spec: EnvSpec, text: str) -> None: ...

    def env_done(self, result: EnvResult) -> None: ...


def jobs_for(parallel: int | str) -> int:
    """``-p``: 0 = one env at a time (tox ``run``), ``auto`` = one per core, N = N."""
    if parallel == "auto":
        return max(os.cpu_count() or 1, 1)
    return max(int(parallel), 1)


def run_session(options: RunOptions, *, events: Events, nix: NixBackend | None = None) -> SessionResult:
    """The whole pipeline; on Ctrl-C the results so far (interrupted envs marked) are attached to the
    raised ``SessionInterrupted``."""
    start = time.monotonic()
    allow_commands()
    prepared = prepare_envs(options, nix=nix, notify=events.notify)
    hash_seed = options.hash_seed or str(random.randint(1, 4294967295))
    work_dir = prepared.project.core.root / ".nixtox"

    def run_one(ready: EnvResult) -> EnvResult:
        assert ready.realised is not None
        spec = ready.spec
        return run_env(
            ready.realised, work_dir=work_dir, hash_seed=hash_seed, setup_seconds=ready.setup_seconds,
            sink=lambda text: events.env_output(spec, text),
        )  # fmt: skip

    collected: dict[str, EnvResult] = dict(prepared.done)

    def done(result: EnvResult) -> None:
        collected[result.spec.key] = result
        events.env_done(result)

    for result in prepared.done.values():
        events.env_done(result)
    try:
        results = schedule(
            prepared.specs,
            prepared.done,
            {r.spec.key: r for r in prepared.ready},
            jobs=jobs_for(options.parallel),
            run_one=run_one,
            on_start=events.env_started,
            on_done=done,
            fail_fast=options.fail_fast,
        )
    except KeyboardInterrupt:
        raise SessionInterrupted(_session_result(prepared, collected, start)) from None
    return _session_result(prepared, results, start)


def _session_result(prepared: Prepared, results: dict[str, EnvResult], start: float) -> SessionResult:
    ordered = tuple(results[spec.key] for spec in prepared.specs if spec.key in results)
    return SessionResult(prepared.project, ordered, time.monotonic() - start)


class SessionInterrupted(KeyboardInterrupt):
    """Ctrl-C during a session, carrying the results that exist."""

    def __init__(self, partial: SessionResult) -> None:
        super().__init__("interrupted")
        self.partial = partial
