"""The pipeline, end to end: load -> select -> interpreters -> lock -> render -> realise -> run.

Every stage takes and returns plain values; a user-facing error in one env becomes that env's result
(``error`` or ``skip``) and the other envs go on, as in tox.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nixtox.config import load_project
from nixtox.errors import InterpreterNotFound, NixtoxError
from nixtox.interpreters import resolve_interpreter
from nixtox.lock import LOCK_FILE_NAME, LockFile, Locker, default_engine, effective_index_url, lock_env
from nixtox.model import EnvResult, EnvSpec, Interpreter, LockedEnv, Project
from nixtox.nix import NixBackend, NixOptions, RealNix
from nixtox.plugins import get_plugin_manager
from nixtox.pyproject import read_pyproject
from nixtox.realise import realise_envs
from nixtox.render import EnvInputs, render_env, source_files_nix
from nixtox.run import OutputSink, run_env
from nixtox.select import Selection, select_envs
from nixtox.source import scan_source
from nixtox.state import locked_work_dir

__all__ = ["RunOptions", "SessionResult", "prepare_envs", "run_session"]


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


def _resolve(project: Project, spec: EnvSpec, cache: dict[str | None, Interpreter]) -> tuple[Interpreter, Interpreter | None]:
    def one(request: str | None) -> Interpreter:
        if request not in cache:
            cache[request] = resolve_interpreter(request, project.core, env_name=spec.label)
        return cache[request]

    build_request = spec.config.build_interpreter or (spec.packagedef.build_interpreter if spec.packagedef else None)
    return one(spec.python), (one(build_request) if build_request else None)


def _lock_all(
    project: Project,
    specs: Sequence[EnvSpec],
    done: dict[str, EnvResult],
    seconds: dict[str, float],
    *,
    locked: bool,
) -> list[LockedEnv]:
    """Resolve each env's interpreter and lock it; a failing env gets its result, the others go on."""
    lock_path = project.core.root / LOCK_FILE_NAME
    lock_file = LockFile.read(lock_path)
    before = dict(lock_file.entries)
    locker: Locker | None = None
    interpreters: dict[str | None, Interpreter] = {}
    result: list[LockedEnv] = []
    for spec in specs:
        start = time.monotonic()
        try:
            interpreter, build_interpreter = _resolve(project, spec, interpreters)
            if locker is None:
                locker = Locker(default_engine(), effective_index_url(None))
            result.append(
                lock_env(
                    project, spec, interpreter, build_interpreter=build_interpreter, lock=lock_file,
                    locked=locked, locker=locker,
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
        lock_file.write(lock_path)
    return result


def prepare_envs(
    options: RunOptions, *, nix: NixBackend | None = None, notify: OutputSink | None = None
) -> Prepared:
    """Every stage up to a realised store path per selected env."""
    project = load_project(options.path, config_file=options.config_file, posargs=options.posargs)
    specs = select_envs(project, options.selection)
    done: dict[str, EnvResult] = {}
    seconds: dict[str, float] = {}
    locked = _lock_all(project, specs, done, seconds, locked=options.locked)
    name = read_pyproject(project.core.root).name or project.core.root.name
    tree = scan_source(project.core.root)
    rendered: list[EnvInputs] = []
    for env in locked:
        start = time.monotonic()
        try:
            rendered.append(render_env(env, root=project.core.root, project_name=name, tree=tree))
        except NixtoxError as exc:
            done[env.spec.key] = EnvResult(spec=env.spec, status="error", reason=exc.message, exit_code=1)
        seconds[env.spec.key] += time.monotonic() - start
    work_dir = project.core.root / ".nixtox"
    with locked_work_dir(work_dir):
        outcome = realise_envs(
            rendered,
            work_dir=work_dir,
            nix=nix or RealNix(options.nix_options),
            recreate=options.recreate,
            shared_files={"source-files.nix": source_files_nix(tree)} if tree.files is not None else None,
            notify=notify,
        )
    ready: list[EnvResult] = []
    hook = get_plugin_manager().hook
    for env in rendered:
        spec = env.rendered.locked.spec
        if spec.key in outcome.failed:
            done[spec.key] = EnvResult(spec=spec, status="error", reason=outcome.failed[spec.key], exit_code=1)
            continue
        realised = outcome.realised[spec.key]
        if not realised.cached:
            hook.nixtox_env_updated(spec=spec, realised=realised)
        setup = seconds[spec.key] + realised.setup_seconds
        ready.append(EnvResult(spec=spec, status="ready", realised=realised, setup_seconds=setup))
    return Prepared(project, tuple(specs), tuple(ready), done)


def run_session(
    options: RunOptions,
    *,
    sink: OutputSink,
    nix: NixBackend | None = None,
    on_result: Callable[[EnvResult], None] | None = None,
) -> SessionResult:
    start = time.monotonic()
    prepared = prepare_envs(options, nix=nix, notify=sink)
    hash_seed = options.hash_seed or str(random.randint(1, 4294967295))  # noqa: S311 - not crypto, tox's range
    results = dict(prepared.done)
    work_dir = prepared.project.core.root / ".nixtox"
    for ready in prepared.ready:
        assert ready.realised is not None
        result = run_env(
            ready.realised, work_dir=work_dir, hash_seed=hash_seed, sink=sink, setup_seconds=ready.setup_seconds
        )
        results[ready.spec.key] = result
        if on_result:
            on_result(result)
    ordered = tuple(results[spec.key] for spec in prepared.specs if spec.key in results)
    return SessionResult(prepared.project, ordered, time.monotonic() - start)
