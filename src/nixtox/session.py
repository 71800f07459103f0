"""The run, as an explicit sequence of stage functions (as nox runs its task tuple).

    RUN = (load, expand, select, lock, render, run_in_nix, realise, run, report)

Each stage takes the value the previous one returned and the ``Session`` (the options, the front end's
``Events``, the Nix backend opened on first use) and returns a plain value of its own: ``RawConfig``,
``Project``, then ``Envs`` of ``EnvSpec``, ``LockedEnv``, ``RenderedEnv`` and ``RealisedEnv``, then a
``SessionResult``. In the per-env stages an env that fails (a missing interpreter, a stale lock, a failed
build) ends with its result in one place, ``Envs.end``, and the other envs go on, as in tox. Each stage
owns its facts and hands them on in its value; no later stage works one out again.

The envs whose commands run inside Nix (``run_in = nix``, ``run --in-nix``) end in ``run_in_nix`` with
their results, read from their check derivations (cached, or built here or on remote builders);
``realise`` and ``run`` handle the others on the host.

The other commands run a prefix of the same stages: ``nixtox lock`` runs ``LOCK``, ``nixtox shell`` and
``nixtox cache pull|push`` run ``PREPARE``, ``nixtox export`` runs ``LOCK`` and renders the export.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from nixtox import _profile
from nixtox.config import ExpandOptions, RawConfig, expand_project, load_config
from nixtox.errors import NixtoxError
from nixtox.interpreters import env_interpreters
from nixtox.lock import LOCK_FILE_NAME, LockFile, LockPolicy, lock_stage
from nixtox.model import (
    EnvResult,
    Envs,
    EnvSpec,
    Interpreter,
    LockedEnv,
    Project,
    RealisedEnv,
    RenderedEnv,
)
from nixtox.nix import NixBackend, NixOptions, resolve_builders
from nixtox.plugins import get_plugin_manager
from nixtox.pyproject import read_pyproject
from nixtox.realise import realise_envs
from nixtox.render import Placement, render_env, source_files_nix
from nixtox.report import INTERRUPTED, exit_code, result_json
from nixtox.run import (
    InNixOptions,
    allow_commands,
    dependency_order,
    nix_run_spec,
    prepare_work_dir,
    recorded_results,
    refused_pass_env,
    run_env,
    runs_in_nix,
    schedule,
)
from nixtox.run import run_in_nix as run_checks
from nixtox.scm import vcs_version
from nixtox.select import Selection, platform_results, select_envs
from nixtox.source import scan_source
from nixtox.state import State, locked_work_dir, selected_store, store_has

if TYPE_CHECKING:
    from nixtox.cache import CacheOverrides, CacheSession

__all__ = [
    "LOCK",
    "PREPARE",
    "RENDER",
    "RUN",
    "Events",
    "NotifyOnly",
    "ReportFiles",
    "RunOptions",
    "Session",
    "SessionResult",
    "execute",
    "jobs_for",
    "lock_envs",
    "nix_options",
    "prepare_envs",
    "run_session",
]


@dataclass(frozen=True)
class ReportFiles:
    """Where the report stage writes (None: not written)."""

    result_json: Path | None = None
    junit: Path | None = None
    html: Path | None = None


@dataclass(frozen=True)
class RunOptions:
    path: Path | None = None
    config_file: Path | None = None
    selection: Selection = field(default_factory=Selection)
    posargs: tuple[str, ...] | None = None
    recreate: bool = False
    lock: LockPolicy = field(default_factory=LockPolicy)
    #: PYTHONHASHSEED for commands: None = a random one per run (tox's default), ``notset`` = none
    hash_seed: str | None = None
    #: what the command line decides about the project: ``-x`` overrides, ``--workdir``, ``-s``,
    #: ``--develop``, ``--installpkg``, ``--skip-pkg-install``
    expand: ExpandOptions = field(default_factory=ExpandOptions)
    #: ``-n/--notest``: build the envs and make their directories, run no command
    no_test: bool = False
    #: ``--skip-env-install``: an env built before (its store path in the state, still in the store)
    #: runs on that path as it is: not relocked, rendered or rebuilt, whatever changed since
    skip_env_install: bool = False
    nix_options: NixOptions = field(default_factory=NixOptions)
    #: ``-p``: 0 (one env at a time), N, or "auto" (one per core)
    parallel: int | str = 0
    fail_fast: bool = False
    #: binary cache: push the realised envs to ``push_to``; command-line cache settings
    push: bool = False
    cache: CacheOverrides | None = None
    #: env kinds to render besides the always-rendered ones (``check``, ``oci`` ...)
    kinds: tuple[str, ...] = ()
    report: ReportFiles = field(default_factory=ReportFiles)
    #: what ``{env:X}`` reads (None: the process environment); an export reads none of it
    environ: Mapping[str, str] | None = None
    #: ``--in-nix``: every selected env runs inside Nix, as with ``run_in = nix``
    in_nix: bool = False
    #: ``--rerun``: envs that run inside Nix run again even when their result is cached
    rerun: bool = False
    #: ``--builders`` (Nix's machines syntax; "" = none); None: ``$NIXTOX_BUILDERS``, else the config
    builders: str | None = None
    #: ``--max-jobs``: Nix builds at once on this machine (0: only on remote builders); None: from ``-p``
    max_jobs: int | None = None


class Events(Protocol):
    """What a front end (the CLI's display) hears while a session runs; called from worker threads."""

    def notify(self, text: str) -> None: ...

    def env_started(self, spec: EnvSpec) -> None: ...

    def env_output(self, spec: EnvSpec, text: str) -> None: ...

    def env_done(self, result: EnvResult) -> None: ...


class NotifyOnly:
    """Events for a command that runs no env: only notices reach ``say`` (default: nowhere)."""

    def __init__(self, say: Callable[[str], None] | None = None) -> None:
        self._say = say

    def notify(self, text: str) -> None:
        if self._say is not None:
            self._say(text)

    def env_started(self, spec: EnvSpec) -> None:
        return None

    def env_output(self, spec: EnvSpec, text: str) -> None:
        return None

    def env_done(self, result: EnvResult) -> None:
        return None


@dataclass(frozen=True)
class SessionResult:
    project: Project
    results: tuple[EnvResult, ...]
    seconds: float
    #: Ctrl-C (or SIGTERM) stopped the run; ``results`` holds what exists, interrupted envs marked
    interrupted: bool = False
    exit_code: int = 0


@dataclass
class Session:
    """What every stage may use: the options, the front end, the Nix backend (opened on first use)."""

    options: RunOptions
    events: Events = field(default_factory=NotifyOnly)
    #: a given backend (tests, ``nixtox cache status``); None: the cache-aware real one, on first use
    backend: NixBackend | None = None
    started: float = field(default_factory=time.monotonic)
    _cache: CacheSession | None = field(default=None, init=False, repr=False)
    #: envs ``--skip-env-install`` takes as they were built before, by key (they skip lock to realise)
    reused: dict[str, RealisedEnv] = field(default_factory=dict, init=False, repr=False)

    def cache(self, envs: Envs[RenderedEnv] | Envs[RealisedEnv]) -> CacheSession:
        """The binary-cache session of this run (settings, reachable caches, the Nix backend), opened
        once, for the project and the interpreters of ``envs``."""
        if self._cache is None:
            from nixtox.cache import open_cache  # noqa: PLC0415 - a warm run needs neither Nix nor caches

            self._cache = open_cache(
                envs.project.core.cache, nix_options(self.options, envs.project),
                overrides=self.options.cache, locked=[env.locked for env in envs.live],
                notify=self.events.notify, push=self.options.push,
            )  # fmt: skip
        return self._cache


Stage = Callable[[Any, Session], Any]
#: where an env that runs inside Nix is rendered: nixtox's work dir, formats built as exported
IN_NIX: Final = Placement(pure=True)


def load(options: RunOptions, session: Session) -> RawConfig:
    return load_config(options.path, config_file=options.config_file)


def expand(raw: RawConfig, session: Session) -> Project:
    options = session.options
    project = expand_project(raw, posargs=options.posargs, environ=options.environ, given=options.expand)
    for warning in project.core.warnings:
        session.events.notify(f"warning: {warning}\n")
    return project


def select(project: Project, session: Session) -> Envs[EnvSpec]:
    specs = tuple(select_envs(project, session.options.selection))
    dependency_order(specs)  # a depends cycle is an error before anything is locked or built
    skipped = platform_results(specs)  # tox's `platform`: skipped before anything is locked or built
    return Envs(project, specs, tuple(s for s in specs if s.key not in skipped), skipped)


def lock(envs: Envs[EnvSpec], session: Session) -> Envs[LockedEnv]:
    """Pins per env; host CPythons are imported into the store (once per machine), so the envs'
    closures are self-contained: remote builders and other machines need only Nix."""
    options = session.options
    if options.skip_env_install:
        session.reused = reuse_built(envs, _store(options))
        envs = replace(envs, live=tuple(spec for spec in envs.live if spec.key not in session.reused))
    store = None
    if options.lock.store_interpreters:
        from nixtox.interpreters import NixInterpreterStore  # noqa: PLC0415 - only what builds needs

        store = NixInterpreterStore(replace(NixOptions(), store=_store(options)))
    return lock_stage(envs, options.lock, interpreter_store=store, notify=session.events.notify)


def render(envs: Envs[LockedEnv], session: Session) -> Envs[RenderedEnv]:
    """Each env's Nix file; an env that runs inside Nix gets its check too, with the values of its
    non-secret ``pass_env`` as settings."""
    options = session.options
    root = envs.project.core.root
    name = read_pyproject(root).name or root.name
    tree = scan_source(root, warn=session.events.notify)

    version = vcs_version(root, envs.live)  # once per run: a fact about the checkout, like the tree

    def render_one(env: LockedEnv) -> RenderedEnv:
        if not runs_in_nix(env.spec, everywhere=options.in_nix):
            return render_env(
                env, root=root, project_name=name, tree=tree, kinds=options.kinds, vcs_version=version
            )
        # the check runs on a copy of the source, which an editable install would not see: such a
        # format is built as the one it is exported as (a wheel), as in `nixtox export`
        env = dataclasses.replace(env, spec=nix_run_spec(env.spec, os.environ))
        return render_env(
            env, root=root, project_name=name, tree=tree, kinds=(*options.kinds, "check"),
            placement=IN_NIX, vcs_version=version,
        )  # fmt: skip

    return envs.map(render_one).with_work_files({"source-files.nix": source_files_nix(tree)})


def run_in_nix(envs: Envs[RenderedEnv], session: Session) -> Envs[RenderedEnv]:
    """The envs whose commands run inside Nix end here with their results: recorded ones when nothing
    changed (no Nix call), else their checks built (here or on the builders) or fetched, in one Nix
    call, each env's output streamed and its end announced as it comes. The others go on to the host."""
    options = session.options
    chosen = [env for env in envs.live if runs_in_nix(env.spec, everywhere=options.in_nix)]
    if not chosen:
        return envs
    refused = {env.spec.key: why for env in chosen if (why := refused_pass_env(env.spec)) is not None}
    work_dir = envs.project.core.work_dir
    if options.push:
        session.cache(envs)  # a missing secret key or push target fails before anything runs
    settings = InNixOptions(
        work_dir=work_dir,
        store=_store(options),
        rerun=options.rerun or options.recreate,
        serial=options.parallel == 0,
        shared_files=envs.work_files,
        keys=[*(spec.key for spec in envs.project.envs), *(spec.key for spec in envs.selected)],
    )
    with locked_work_dir(work_dir):
        outcome = run_checks(
            [env for env in chosen if env.spec.key not in refused],
            nix=lambda: session.backend or session.cache(envs).reporting,
            options=settings, events=session.events, root=envs.project.core.root, setup_seconds=envs.seconds,
        )  # fmt: skip
    return envs.finish({**refused, **outcome.results}, seconds=outcome.seconds)


def realise(envs: Envs[RenderedEnv], session: Session) -> Envs[RealisedEnv]:
    work_dir = envs.project.core.work_dir
    # its .gitignore keeps a --workdir inside the project out of git's file list and the source scan
    prepare_work_dir(work_dir)
    if session.options.push:
        session.cache(envs)  # a missing secret key or push target fails before anything builds
    keys = [*(spec.key for spec in envs.project.envs), *(spec.key for spec in envs.selected)]
    with locked_work_dir(work_dir):
        outcome = realise_envs(
            envs.live,
            work_dir=work_dir,
            nix=session.backend or cast("NixBackend", _OnFirstUse(lambda: session.cache(envs).reporting)),
            recreate=session.options.recreate,
            shared_files=envs.work_files,
            notify=session.events.notify,
            keys=keys,
            store=_store(session.options),
        )
    realised = envs.collect(outcome.outcomes, seconds=outcome.seconds)
    if session.reused:
        realised = replace(realised, live=(*realised.live, *session.reused.values()))
    hook = get_plugin_manager().hook
    for env in realised.live:
        if not env.cached:
            hook.nixtox_env_updated(spec=env.spec, realised=env)
    if session.options.push:
        _push(realised, session, work_dir)
    return realised


def _push(realised: Envs[RealisedEnv], session: Session, work_dir: Path) -> None:
    """The realised envs, and the recorded in-Nix results of the selected envs with their envs."""
    from nixtox.cache import EnvPaths  # noqa: PLC0415 - only when pushing

    store = _store(session.options)
    results = recorded_results(work_dir, store, [spec.key for spec in realised.selected])
    paths = [EnvPaths(f"{label} (result)", result, None) for label, result, _, _ in results]
    paths += [EnvPaths(label, env, drv or None) for label, _, env, drv in results if env]
    if realised.live or paths:
        session.cache(realised).push(realised.live, also=paths)


def run(envs: Envs[RealisedEnv], session: Session) -> SessionResult:
    """Every env's commands, in ``depends`` order, ``-p`` at a time. On Ctrl-C the results so far (the
    interrupted envs marked) are the result."""
    options, events = session.options, session.events
    allow_commands()
    hash_seed = (
        None if options.hash_seed == "notset" else options.hash_seed or str(random.randint(1, 4294967295))
    )

    def run_one(realised: RealisedEnv) -> EnvResult:
        spec = realised.spec
        result = run_env(
            realised, hash_seed=hash_seed, setup_seconds=envs.seconds.get(spec.key, 0.0),
            sink=lambda text: events.env_output(spec, text), no_test=options.no_test,
        )  # fmt: skip
        _profile.note("commands", result.command_seconds)
        return result

    collected: dict[str, EnvResult] = dict(envs.ended)

    def done(result: EnvResult) -> None:
        collected[result.spec.key] = result
        events.env_done(result)

    for key, result in envs.ended.items():
        if key not in envs.announced:  # in-Nix envs were announced as each finished
            events.env_done(result)
    interrupted = False
    try:
        runnable = {env.spec.key: env for env in envs.live}
        jobs = jobs_for(options.parallel, len(runnable))
        schedule(
            envs.selected, envs.ended, runnable, jobs=jobs, run_one=run_one, on_start=events.env_started,
            on_done=done, fail_fast=options.fail_fast,
        )  # fmt: skip
    except KeyboardInterrupt:
        interrupted = True
    ordered = tuple(collected[spec.key] for spec in envs.selected if spec.key in collected)
    return SessionResult(envs.project, ordered, time.monotonic() - session.started, interrupted)


def report(result: SessionResult, session: Session) -> SessionResult:
    """The exit code (tox's rules) and the report files the options ask for (parent directories made,
    as tox does for ``--result-json``)."""
    code = (
        INTERRUPTED if result.interrupted else exit_code(result.results, fail_fast=session.options.fail_fast)
    )
    files = session.options.report
    if files.result_json or files.junit or files.html:
        import json  # noqa: PLC0415 - only when a report is written

        from nixtox import report as reports  # noqa: PLC0415

        project = reports.project_info(result.project.core.root)
        data = result_json(result.results, seconds=result.seconds, exit_code=code, project=project)
        try:
            if files.result_json:
                files.result_json.parent.mkdir(parents=True, exist_ok=True)
                files.result_json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            if files.junit:
                files.junit.parent.mkdir(parents=True, exist_ok=True)
                files.junit.write_bytes(reports.junit_xml(data))
            if files.html:
                reports.write_html(data, files.html)
        except OSError as exc:
            raise NixtoxError(f"cannot write {exc.filename}: {exc.strerror}") from None
    return replace(result, exit_code=code)


RUN: Final[tuple[Stage, ...]] = (load, expand, select, lock, render, run_in_nix, realise, run, report)
#: up to a realised store path per env, commands run nowhere (``nixtox shell``, ``cache pull|push``)
PREPARE: Final[tuple[Stage, ...]] = (load, expand, select, lock, render, realise)
RENDER: Final[tuple[Stage, ...]] = RUN[:5]
LOCK: Final[tuple[Stage, ...]] = RUN[:4]


def execute(stages: Sequence[Stage], session: Session) -> Any:
    """Run ``stages`` in order, each on the value the one before returned."""
    value: Any = session.options
    for stage in stages:
        with _profile.phase(f"stage:{stage.__name__}"):
            value = stage(value, session)
    return value


def run_session(
    options: RunOptions, *, events: Events | None = None, nix: NixBackend | None = None
) -> SessionResult:
    return cast("SessionResult", execute(RUN, Session(options, events or NotifyOnly(), nix)))


def prepare_envs(
    options: RunOptions, *, events: Events | None = None, nix: NixBackend | None = None
) -> Envs[RealisedEnv]:
    """Every stage up to a realised store path per selected env (``nixtox shell``, ``cache pull``)."""
    return cast("Envs[RealisedEnv]", execute(PREPARE, Session(options, events or NotifyOnly(), nix)))


def lock_envs(options: RunOptions, *, events: Events | None = None) -> Envs[LockedEnv]:
    """load, expand, select and lock (``nixtox lock``, ``nixtox export``)."""
    return cast("Envs[LockedEnv]", execute(LOCK, Session(options, events or NotifyOnly())))


def nix_options(options: RunOptions, project: Project) -> NixOptions:
    """Nix builds and test commands share the machine: ``-p N`` builds N derivations at once with
    cores/N cores each; one env at a time (``-p 0``) lets Nix use every core; ``--max-jobs`` says
    otherwise (0: nothing builds here, only on the ``builders``)."""
    cpus = os.cpu_count() or 1
    jobs = jobs_for(options.parallel) if options.parallel != 0 else cpus
    if options.max_jobs is not None:
        jobs = options.max_jobs
    builders = resolve_builders(project.core.builders, options.builders, os.environ)
    return replace(
        options.nix_options, max_jobs=jobs, cores=max(cpus // max(jobs, 1), 1),
        builders=builders if builders is not None else options.nix_options.builders,
    )  # fmt: skip


def jobs_for(parallel: int | str, envs: int | None = None) -> int:
    """``-p``: 0 = one env at a time (tox ``run``), ``auto`` = one per core, ``all`` = every env at once
    (``envs`` of them; one per core when the count is not known yet), N = N."""
    if parallel == "all" and envs is not None:
        return max(envs, 1)
    if parallel in ("auto", "all"):
        return max(os.cpu_count() or 1, 1)
    return max(int(parallel), 1)


def _store(options: RunOptions) -> str:
    return selected_store(options.cache.nix_store if options.cache else None)


def reuse_built(envs: Envs[EnvSpec], store: str = "") -> dict[str, RealisedEnv]:
    """``--skip-env-install``: the selected envs whose last build (``state.json``) is still in ``store``,
    as realised envs on that path. Reports take their packages from the env's ``nixtox.lock`` entry."""
    core = envs.project.core
    state = State.read(core.work_dir, store)
    entries = LockFile.read(core.root / LOCK_FILE_NAME, repair=True).entries
    memo: dict[str | None, Interpreter] = {}
    reused: dict[str, RealisedEnv] = {}
    for spec in envs.live:
        built = state.envs.get(spec.key)
        if built is None or not store_has(store, built.store_path):
            continue
        try:
            interpreter, build_interpreter = env_interpreters(spec, core, memo)
        except NixtoxError:
            continue  # the normal path reports it
        entry = entries.get(spec.key)
        locked = LockedEnv(
            spec, interpreter, entry.dists if entry else (), entry.build_dists if entry else (),
            build_interpreter, entry.lock_key if entry else "",
        )  # fmt: skip
        rendered = RenderedEnv(locked, attr=spec.key, fingerprint=built.fingerprint)
        reused[spec.key] = RealisedEnv(rendered, Path(built.store_path), built.drv_path or None, cached=True)
    return reused


class _OnFirstUse:
    """A NixBackend created on first use: the fingerprint fast path never touches Nix or the caches."""

    def __init__(self, make: Callable[[], NixBackend]) -> None:
        self._make = make

    def __getattr__(self, name: str) -> Any:
        return getattr(self._make(), name)
