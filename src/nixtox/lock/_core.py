"""The lock stage: each selected EnvSpec -> a LockedEnv, reusing current entries of ``nixtox.lock``.

``lock_stage`` is the one driver: ``nixtox run``, ``nixtox lock`` (``--check``, ``--upgrade``) and
``nixtox export`` differ only in their ``LockPolicy``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nixtox._reqlines import root_relative
from nixtox.errors import LockError
from nixtox.interpreters import InterpreterStore, env_interpreters, import_interpreter
from nixtox.lock._engines import ResolutionError, ResolverEngine, ResolveRequest, default_engine
from nixtox.lock._files import ResolvedPackage, choose_file, marker_applies
from nixtox.lock._index import DEFAULT_INDEX_URL, IndexConfig, index_config
from nixtox.lock._lockfile import LOCK_FILE_NAME, LockEntry, LockFile
from nixtox.lock._requirements import env_requirements, interpreter_identity, lock_key
from nixtox.lock._sdist import download, sdist_build_requirements
from nixtox.model import DistKind, EnvRequirements, Envs, EnvSpec, Interpreter, LockedDist, LockedEnv, Project
from nixtox.plugins import find_format
from nixtox.pyproject import read_pyproject

__all__ = [
    "DEFAULT_INDEX_URL",
    "LockPolicy",
    "Locker",
    "effective_index_url",
    "lock_stage",
    "verify_lock_entry",
]

#: how deep sdist-only build requirements may nest (an sdist whose build needs an sdist ...).
_MAX_SDIST_DEPTH = 3


def effective_index_url(index_url: str | None) -> str:
    """The primary index of the process environment (or ``index_url``), as ``index_config`` decides."""
    return index_config(given=index_url, environ=os.environ).url


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _describe(interpreter: Interpreter) -> str:
    return f"{interpreter.implementation} {'.'.join(map(str, interpreter.version))}"


def _canonical(dists: Sequence[LockedDist]) -> tuple[LockedDist, ...]:
    """The order and shape an entry has in the lock file, so fresh and reused locks are equal."""
    lock = LockFile()
    lock.put("_", LockEntry("", "", "", tuple(dists)))
    return lock.entries["_"].dists


SdistRequirements = Callable[[LockedDist, str], tuple[str, ...]]


def _read_sdist_requirements(dist: LockedDist, env_name: str) -> tuple[str, ...]:
    return sdist_build_requirements(dist, env_name=env_name)


@dataclass
class Locker:
    """One resolver engine and its default indexes, with memos shared by every env of a run."""

    engine: ResolverEngine
    index_url: str = DEFAULT_INDEX_URL
    sdist_requirements: SdistRequirements = _read_sdist_requirements
    #: resolver invocations made (a no-op run makes none).
    resolver_calls: int = 0
    _memo: dict[tuple[object, ...], tuple[LockedDist, ...]] = field(default_factory=dict)

    def resolve(
        self,
        env_name: str,
        requirements: Sequence[str],
        constraints: Sequence[str],
        interpreter: Interpreter,
        cwd: Path,
        *,
        local_project: str | None = None,
        depth: int = 0,
        index: IndexConfig | None = None,
        editable: Sequence[str] = (),
    ) -> tuple[LockedDist, ...]:
        """``index``: the env's indexes (default: ``index_url`` alone); ``local_project``: the project's
        name when it is one of the requirements (``.``), which is then not part of the result;
        ``editable``: root-relative paths of local projects to install editable."""
        if not requirements:
            return ()
        index = index or IndexConfig(self.index_url)
        identity = interpreter_identity(interpreter)
        memo_key = (tuple(requirements), tuple(constraints), identity, local_project, index, tuple(editable))
        if memo_key in self._memo:
            return self._memo[memo_key]
        request = ResolveRequest(tuple(requirements), tuple(constraints), interpreter, index, cwd)
        self.resolver_calls += 1
        try:
            packages = self.engine.resolve(request)
        except ResolutionError as exc:
            raise LockError(
                f"env {env_name}: cannot resolve its requirements for {_describe(interpreter)}: {exc.reason}"
            ) from None
        dists = []
        for package in packages:
            if package.directory is not None:  # the project itself (built apart), or a local project
                if local_project is not None and Path(package.directory) == cwd.resolve():
                    continue
                if marker_applies(package.marker, interpreter):
                    dists.append(
                        self._directory(
                            env_name, package, interpreter, cwd, depth=depth, index=index, editable=editable
                        )
                    )
                continue
            if not package.version:
                raise LockError(
                    f"env {env_name}: {package.name} resolved to a VCS checkout, not a file nixtox can pin;"
                    " name a released version, a local path or a file"
                )
            if local_project and _normalize(package.name) == _normalize(local_project):
                continue
            if not marker_applies(package.marker, interpreter):
                continue
            chosen = choose_file(package, interpreter)
            if chosen is None:
                files = ", ".join(f.name for f in package.files) or "none"
                raise LockError(
                    f"env {env_name}: no file of {package.name} {package.version} installs on "
                    f"{_describe(interpreter)} (files: {files}); pin another version in deps/constraints"
                )
            if chosen.kind == DistKind.SDIST:
                chosen = dataclasses.replace(
                    chosen,
                    build_requires=self._sdist_build(env_name, chosen, interpreter, cwd, depth, index=index),
                )
            dists.append(chosen)
        result = _canonical(dists)
        self._memo[memo_key] = result
        return result

    def _directory(
        self,
        env_name: str,
        package: ResolvedPackage,
        interpreter: Interpreter,
        cwd: Path,
        *,
        depth: int,
        index: IndexConfig,
        editable: Sequence[str],
    ) -> LockedDist:
        """A local project: built in Nix from its directory (or editable), with its own pinned build
        environment; its dependencies are already part of the resolution."""
        assert package.directory is not None
        path = Path(package.directory)
        shown = root_relative(path, cwd.resolve())
        meta = read_pyproject(path)
        fmt = find_format("editable" if shown in editable else "wheel")
        assert fmt is not None
        requires = fmt.build_requirements(meta.build_requires, meta.build_backend, None)
        build = self.resolve(env_name, requires, (), interpreter, cwd, depth=depth + 1, index=index)
        return LockedDist(
            name=package.name, version="", filename="", url=shown, sha256="", kind=DistKind.DIRECTORY,
            build_requires=build, editable=shown in editable,
        )  # fmt: skip

    def _sdist_build(
        self,
        env_name: str,
        dist: LockedDist,
        interpreter: Interpreter,
        cwd: Path,
        depth: int,
        *,
        index: IndexConfig,
    ) -> tuple[LockedDist, ...]:
        if depth >= _MAX_SDIST_DEPTH:
            raise LockError(
                f"env {env_name}: {dist.name} needs sdist-only build requirements nested deeper than "
                f"{_MAX_SDIST_DEPTH} levels; pin versions that ship wheels"
            )
        requirements = self.sdist_requirements(dist, env_name)
        return self.resolve(env_name, requirements, (), interpreter, cwd, depth=depth + 1, index=index)


def _stale_reason(entry: LockEntry | None, interpreter: Interpreter, index_url: str) -> str:
    """Why an entry no longer fits (its key already differs)."""
    if entry is None:
        return "it has no entry"
    if entry.interpreter != interpreter_identity(interpreter):
        return f"the interpreter changed (locked for {entry.interpreter})"
    if entry.index_url != index_url:
        return f"the index changed (locked against {entry.index_url})"
    return "requirements changed"


def verify_lock_entry(env_key: str, entry: LockEntry, *, download_files: bool = False) -> None:
    """Raise LockError when an entry was edited by hand (content hash) or, with ``download_files``, when a
    file's sha256 differs from what its URL serves."""
    if entry.stored_content_hash and entry.stored_content_hash != entry.content_hash:
        raise LockError(
            f"{LOCK_FILE_NAME}: the entry of env {env_key} was edited by hand (its files do not match its "
            "content-hash); run `nixtox lock` to regenerate it"
        )
    if download_files:
        pending = [*entry.dists, *entry.build_dists]
        while pending:
            dist = pending.pop()
            download(dist, env_name=env_key)
            pending += dist.build_requires


@dataclass(frozen=True)
class LockPolicy:
    """How the lock stage treats ``nixtox.lock``."""

    #: refuse to resolve: a missing or stale entry ends the env (``run --locked``, ``lock --check``)
    locked: bool = False
    #: resolve again even where the entry is current (``lock --upgrade``)
    upgrade: bool = False
    #: drop entries of envs the project no longer has (``nixtox lock``)
    prune: bool = False
    #: the index to lock against (``lock -i URL``); None: the environment's or PyPI
    index_url: str | None = None
    #: import the envs' host CPythons into the Nix store (``interpreters.import_interpreter``), so the
    #: envs are built on the copies and their closures are self-contained; every command that builds
    #: envs does, ``nixtox lock`` does not need to
    store_interpreters: bool = True


@dataclass
class _LockRun:
    """What the envs of one lock stage share: the lock file, the resolver and resolved interpreters."""

    project: Project
    policy: LockPolicy
    lock: LockFile
    make_locker: Callable[[], Locker]
    locker: Locker | None = None
    interpreters: dict[str | None, Interpreter] = field(default_factory=dict)
    #: where host interpreters are imported (None: they are not)
    interpreter_store: InterpreterStore | None = None
    notify: Callable[[str], None] | None = None
    _imported: dict[str, Interpreter] = field(default_factory=dict)

    def _in_store(self, interpreter: Interpreter) -> Interpreter:
        if self.interpreter_store is None:
            return interpreter
        if interpreter.fingerprint not in self._imported:
            self._imported[interpreter.fingerprint] = import_interpreter(
                interpreter, store=self.interpreter_store, notify=self.notify
            )
        return self._imported[interpreter.fingerprint]

    def lock_one(self, spec: EnvSpec) -> LockedEnv:
        interpreter, build_interpreter = env_interpreters(spec, self.project.core, self.interpreters)
        # the copies in the store only change what envs are built on, not what is locked for them
        interpreter = self._in_store(interpreter)
        build_interpreter = self._in_store(build_interpreter) if build_interpreter else None
        requirements = env_requirements(spec, self.project.core)
        set_env = dict(spec.config.set_env)
        index = index_config(given=self.policy.index_url, set_env=set_env, environ=os.environ)
        index_url = index.url
        key = lock_key(requirements, interpreter, index.key, build_interpreter)
        current = None if self.policy.upgrade else self.lock.get(spec.key, key)
        if current is not None:
            verify_lock_entry(spec.key, current)
            return LockedEnv(spec, interpreter, current.dists, current.build_dists, build_interpreter, key)
        if self.policy.locked:
            reason = _stale_reason(self.lock.entries.get(spec.key), interpreter, index_url)
            raise LockError(f"{LOCK_FILE_NAME} is stale for env {spec.label}: {reason} (run `nixtox lock`)")
        if self.locker is None:
            self.locker = self.make_locker()
        dists, build_dists = self._resolve(spec, requirements, interpreter, build_interpreter, index)
        self.lock.put(
            spec.key, LockEntry(key, interpreter_identity(interpreter), index_url, dists, build_dists)
        )
        return LockedEnv(spec, interpreter, dists, build_dists, build_interpreter, key)

    def _resolve(
        self,
        spec: EnvSpec,
        requirements: EnvRequirements,
        interpreter: Interpreter,
        build_interpreter: Interpreter | None,
        index: IndexConfig,
    ) -> tuple[tuple[LockedDist, ...], tuple[LockedDist, ...]]:
        assert self.locker is not None
        root = self.project.core.root
        local = requirements.local_project
        dists = self.locker.resolve(
            spec.label, requirements.requirements, requirements.constraints, interpreter, root,
            local_project=_normalize(local) if local is not None else None, index=index,
            editable=requirements.editable_paths,
        )  # fmt: skip
        build_dists = self.locker.resolve(
            spec.label, requirements.build_requirements, (), build_interpreter or interpreter, root,
            index=index,
        )  # fmt: skip
        return dists, build_dists


def lock_stage(
    envs: Envs[EnvSpec],
    policy: LockPolicy | None = None,
    *,
    engine: ResolverEngine | None = None,
    locker: Locker | None = None,
    interpreters: Mapping[str | None, Interpreter] | None = None,
    interpreter_store: InterpreterStore | None = None,
    notify: Callable[[str], None] | None = None,
) -> Envs[LockedEnv]:
    """Lock every live env against ``nixtox.lock`` at the project root.

    Each env's interpreter is resolved (memoised across envs), its requirements gathered once and its
    entry reused when current (no resolver call), else resolved (one resolver call per distinct
    requirement set). A failing env ends with its result and the others go on. The file is rewritten
    when an entry changed (never with ``policy.locked``); envs locked before a failure keep their new
    entries. ``interpreters`` (by request) are taken as already resolved. With an ``interpreter_store``
    each host CPython is imported into it (once per machine), and the envs are built on the copy.
    """
    policy = policy or LockPolicy()
    path = envs.project.core.root / LOCK_FILE_NAME
    run = _LockRun(
        envs.project,
        policy,
        # `nixtox lock` (prune) is how a damaged lock is regenerated: it drops damaged entries
        LockFile.read(path, repair=policy.prune),
        lambda: Locker(engine or default_engine()),
        locker=locker,
        interpreters=dict(interpreters or {}),
        interpreter_store=interpreter_store,
        notify=notify,
    )
    before = dict(run.lock.entries)
    try:
        locked = envs.map(run.lock_one)
    finally:
        # envs locked before a failure keep their new entries; the file is merged under a file lock, so
        # two runs locking different envs of one project both keep theirs
        fresh = {key: entry for key, entry in run.lock.entries.items() if before.get(key) != entry}
        keep = {spec.key for spec in envs.project.envs} if policy.prune else None
        if not policy.locked and (fresh or keep is not None):
            LockFile.update(path, put=fresh, keep=keep, repair=policy.prune)
    return locked
