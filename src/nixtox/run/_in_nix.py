"""The run stage inside Nix (``run_in = nix``, ``nixtox run --in-nix``): test runs as cached derivations.

Each env's commands run in its check derivation (the env kind ``check``: ``lib.mkCheck``, recording
failures too), whose inputs are the env, the project source, the commands and the non-secret settings.
Its output is the result, so Nix decides what runs: an unchanged env is a store path already built
(here, on a remote builder, in a binary cache) and nothing runs; a changed one is built, wherever
Nix's ``builders`` send it. ``run_in_nix`` gives each env the ``EnvResult`` a host run gives.

* Fast path: ``.nixtox/state.json`` records, per env, the fingerprint of its check and the result
  path; when both still hold (the file system says the path is there), no Nix call is made at all.
* Otherwise one ``nix-instantiate`` (each env and its check) and one ``nix-store --realise`` of the
  checks, whose internal JSON log says which derivation each line belongs to and where it builds: the
  lines stream as a host run's do (``OneAtATime``), and each env ends as soon as its result is here.
* ``--rerun`` (and ``-r``) instantiates the checks with a fresh run id (``mkCheck``'s ``rerun``): other
  derivations, so they run again; their results become the envs' recorded ones.

A ``pass_env`` value would make the result depend on the machine and put a secret into the store: an
env with ``pass_env`` is refused here unless each pattern is listed in ``non_secret_pass_env``, whose
values then become derivation inputs (``nix_run_spec``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nixtox._roots import temporary_roots
from nixtox.errors import BuildError, ConfigError, NixtoxError
from nixtox.model import EnvResult, EnvSpec, NixRun, RealisedEnv, RenderedEnv, Status
from nixtox.nix import NixBackend
from nixtox.render import (
    env_text,
    nix_library_path,
    nix_path,
    write_default_nix,
    write_env_file,
    write_work_file,
)
from nixtox.run._check_record import CheckRecord, read_record, record_result, replay
from nixtox.run._check_record import ran_on as recorded_host
from nixtox.run._nix_checks import CheckBuild, PendingCheck
from nixtox.run._streams import EnvEvents, OneAtATime
from nixtox.state import CheckState, State, gcroot_dir, store_file, store_has

__all__ = [
    "InNixOptions",
    "InNixOutcome",
    "nix_run_spec",
    "recorded_results",
    "refused_pass_env",
    "run_in_nix",
    "runs_in_nix",
]

RUN_IN = ("host", "nix")
#: the file ``--rerun`` instantiates the checks from (the envs' files with a fresh run id)
RERUN_FILE = "rerun.nix"


def runs_in_nix(spec: EnvSpec, *, everywhere: bool = False) -> bool:
    """Whether the env's commands run inside Nix: ``run_in = nix``, or ``--in-nix`` (``everywhere``)."""
    value = spec.config.run_in or "host"
    if value not in RUN_IN:
        raise ConfigError(f"env {spec.label}: run_in = {value!r}: use host or nix")
    return everywhere or value == "nix"


def refused_pass_env(spec: EnvSpec) -> ConfigError | None:
    """Why the env cannot run inside Nix: ``pass_env`` patterns not listed in ``non_secret_pass_env``."""
    allowed = [p.lower() for p in spec.config.non_secret_pass_env]
    refused = [p for p in spec.config.pass_env if not _listed(p, allowed)]
    if not refused:
        return None
    return ConfigError(
        f"env {spec.label}: run_in = nix, but pass_env {', '.join(refused)} would bring values of this"
        " machine's environment into the test derivation (and the Nix store); drop them from pass_env,"
        " run the env on the host (run_in = host), or list those that are not secret in"
        " non_secret_pass_env"
    )


def _listed(pattern: str, allowed: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(pattern.lower(), a) for a in allowed)


def nix_run_spec(spec: EnvSpec, environ: Mapping[str, str]) -> EnvSpec:
    """The env as its check derivation sees it: the values of the ``pass_env`` patterns listed in
    ``non_secret_pass_env`` join ``set_env`` (before it: ``set_env`` wins, as on the host); no other
    value of ``environ`` enters."""
    config = spec.config
    allowed = [p.lower() for p in config.non_secret_pass_env]
    listed = [p for p in config.pass_env if _listed(p, allowed)]
    patterns = [re.compile(fnmatch.translate(p), re.IGNORECASE) for p in listed]
    set_names = {name for name, _ in config.set_env}
    passed = sorted(
        (name, value)
        for name, value in environ.items()
        if name not in set_names and any(p.match(name) for p in patterns)
    )
    if not passed:
        return spec
    return dataclasses.replace(spec, config=dataclasses.replace(config, set_env=(*passed, *config.set_env)))


@dataclass(frozen=True)
class InNixOptions:
    work_dir: Path
    #: the Nix store ("" = the default one), as the state and GC roots are kept per store
    store: str = ""
    #: run every check again (``--rerun``, ``-r``), cached or not
    rerun: bool = False
    #: show one env's output at a time (``nixtox run``), as the checks may run at once
    serial: bool = True
    #: files the render stage made (``source-files.nix``), written before Nix reads the env files
    shared_files: Mapping[str, str] = field(default_factory=dict)
    #: the project's env keys (``default.nix`` joins their files)
    keys: Sequence[str] | None = None


@dataclass(frozen=True)
class InNixOutcome:
    results: dict[str, EnvResult | NixtoxError]
    #: per env key, the seconds of the Nix call it waited for
    seconds: dict[str, float]


def _root(options: InNixOptions, key: str, what: str = "check") -> Path:
    return gcroot_dir(options.work_dir, options.store) / f"{key}.{what}"


def _cached(state: State, env: RenderedEnv, options: InNixOptions) -> CheckState | None:
    known = state.checks.get(env.spec.key)
    if known is None or known.fingerprint != env.fingerprint or options.rerun:
        return None
    if not store_has(options.store, known.result_path) or not _root(options, env.spec.key).is_symlink():
        return None
    return known


def run_in_nix(
    envs: Sequence[RenderedEnv],
    *,
    nix: Callable[[], NixBackend],
    options: InNixOptions,
    events: EnvEvents,
    root: Path,
    setup_seconds: Mapping[str, float] | None = None,
) -> InNixOutcome:
    """Each env's result: from the state (no Nix call), else from its check, built or fetched by one
    Nix call for all of them. The caller holds the work-dir lock."""
    state = State.read(options.work_dir, options.store)
    streams = OneAtATime(events, serial=options.serial)
    results: dict[str, EnvResult | NixtoxError] = {}
    pending: list[RenderedEnv] = []
    for env in envs:
        known = _cached(state, env, options)
        result = _from_state(env, known, options, root, (setup_seconds or {}).get(env.spec.key, 0.0))
        if result is None:
            pending.append(env)
            continue
        _announce(result, streams, cached=True)
        results[env.spec.key] = result
    if not pending:
        return InNixOutcome(results, {})
    start = time.monotonic()
    try:
        results.update(
            _build(pending, nix=nix(), options=options, streams=streams, state=state, root=root,
                   setup=setup_seconds or {})
        )  # fmt: skip
    finally:
        streams.close()
        state.write()
    seconds = time.monotonic() - start
    return InNixOutcome(results, {env.spec.key: seconds for env in pending})


def _announce(result: EnvResult, streams: OneAtATime, *, cached: bool) -> None:
    """An env's end; a cached failure shows what its run showed, as a failed host run does."""
    if cached and result.status == Status.FAIL:
        spec = result.spec

        def sink(text: str) -> None:
            streams.output(spec, text)

        replay(result, sink)
    streams.done(result)


def _from_state(
    env: RenderedEnv, known: CheckState | None, options: InNixOptions, root: Path, setup: float
) -> EnvResult | None:
    if known is None:
        return None
    try:
        record = read_record(Path(known.result_path), store_file(options.store, known.result_path))
    except BuildError:
        return None  # damaged: Nix makes it again
    run = NixRun(
        Path(known.result_path), known.drv_path or None, recorded_host(record), record.started, cached=True
    )
    realised = RealisedEnv(env, Path(known.env_path), known.env_drv or None, cached=True)
    return record_result(realised, record, run, root=root, setup_seconds=setup)


def _rerun_file(options: InNixOptions) -> Path:
    """The project's envs with every check given a fresh run id: the same envs, other checks."""
    run_id = uuid.uuid4().hex
    text = (
        "# Generated by nixtox for `run --rerun`: every check with a fresh run id. Do not edit.\n"
        f"let\n  base = import {nix_path(nix_library_path())} {{ }};\n"
        f'  lib = base // {{ mkCheck = args: base.mkCheck (args // {{ rerun = "{run_id}"; }}); }};\n'
        "in\nimport ./default.nix { inherit lib; }\n"
    )
    return write_work_file(options.work_dir, RERUN_FILE, text)


def _build(
    envs: Sequence[RenderedEnv],
    *,
    nix: NixBackend,
    options: InNixOptions,
    streams: OneAtATime,
    state: State,
    root: Path,
    setup: Mapping[str, float],
) -> dict[str, EnvResult | NixtoxError]:
    work_dir = options.work_dir
    for name, text in options.shared_files.items():
        write_work_file(work_dir, name, text)
    for env in envs:
        write_env_file(work_dir, env.spec.key, env_text(env))
    default_nix = write_default_nix(work_dir, options.keys)
    checks_from = _rerun_file(options) if options.rerun else default_nix
    outcomes: dict[str, EnvResult | NixtoxError] = {}

    def finished(check: PendingCheck, record: CheckRecord) -> None:
        built_on = check.env_built_on
        run = NixRun(
            check.out, check.drv, check.ran_on or recorded_host(record), record.started,
            cached=check.ran_on is None,
        )  # fmt: skip
        realised = RealisedEnv(
            check.rendered, check.env_out, check.env_drv, cached=built_on is None, built_on=built_on
        )
        result = record_result(realised, record, run, root=root, setup_seconds=setup.get(check.key, 0.0))
        _announce(result, streams, cached=run.cached)
        outcomes[check.key] = result
        state.checks[check.key] = CheckState(
            check.rendered.fingerprint, str(check.out), check.drv, str(check.env_out), check.env_drv,
            check.rendered.spec.label,
        )  # fmt: skip

    with temporary_roots() as roots:
        build = CheckBuild(nix, streams, finished, store=options.store)
        outcomes.update(build.run(envs, default_nix, checks_from, roots))
        for key, check in build.checks.items():
            if key in outcomes and not isinstance(outcomes[key], NixtoxError):
                nix.add_root(check.out, _root(options, key))
                if store_has(options.store, str(check.env_out)):
                    nix.add_root(check.env_out, _root(options, key, "check-env"))
    return outcomes


def recorded_results(work_dir: Path, store: str, keys: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(label, result path, env path, env drv) of the last in-Nix run of each of ``keys`` whose result is
    in the store: what ``cache push`` pushes besides the envs."""
    state = State.read(work_dir, store)
    found = []
    for key in keys:
        known = state.checks.get(key)
        if known is not None and store_has(store, known.result_path):
            env = known.env_path if known.env_path and store_has(store, known.env_path) else ""
            found.append((known.label or key, known.result_path, env, known.env_drv if env else ""))
    return found
