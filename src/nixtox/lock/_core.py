"""The lock stage: EnvSpec + Interpreter -> LockedEnv, reusing current entries of ``nixtox.lock``."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nixtox.errors import LockError
from nixtox.lock._engines import ResolutionError, ResolverEngine, ResolveRequest, default_engine
from nixtox.lock._files import choose_file, marker_applies
from nixtox.lock._lockfile import LOCK_FILE_NAME, LockEntry, LockFile
from nixtox.lock._requirements import EnvRequirements, env_requirements, interpreter_identity, lock_key
from nixtox.lock._sdist import download, sdist_build_requirements
from nixtox.model import EnvSpec, Interpreter, LockedDist, LockedEnv, Project

__all__ = [
    "DEFAULT_INDEX_URL",
    "Locker",
    "effective_index_url",
    "lock_env",
    "lock_envs",
    "verify_lock_entry",
    "write_lock",
]

DEFAULT_INDEX_URL = "https://pypi.org/simple"
#: how deep sdist-only build requirements may nest (an sdist whose build needs an sdist ...).
_MAX_SDIST_DEPTH = 3


def effective_index_url(index_url: str | None) -> str:
    """The index to lock against: the argument, else UV_DEFAULT_INDEX / UV_INDEX_URL / PIP_INDEX_URL,
    else PyPI."""
    for candidate in (
        index_url,
        *(os.environ.get(k) for k in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")),
    ):
        if candidate:
            return candidate.rstrip("/")
    return DEFAULT_INDEX_URL


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
    """One resolver engine + index, with memos shared by every env of a run."""

    engine: ResolverEngine
    index_url: str
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
    ) -> tuple[LockedDist, ...]:
        if not requirements:
            return ()
        memo_key = (tuple(requirements), tuple(constraints), interpreter_identity(interpreter), local_project)
        if memo_key in self._memo:
            return self._memo[memo_key]
        request = ResolveRequest(tuple(requirements), tuple(constraints), interpreter, self.index_url, cwd)
        self.resolver_calls += 1
        try:
            packages = self.engine.resolve(request)
        except ResolutionError as exc:
            raise LockError(
                f"env {env_name}: cannot resolve its requirements for {_describe(interpreter)}: {exc.reason}"
            ) from None
        dists = []
        for package in packages:
            # a local directory: the project itself is dropped; anything else is an error
            if not package.version:
                if local_project is not None and (
                    not local_project or _normalize(package.name) == local_project
                ):
                    continue
                raise LockError(
                    f"env {env_name}: {package.name} resolved to a local directory, not an index file"
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
            if chosen.kind == "sdist":
                chosen = dataclasses.replace(
                    chosen, build_requires=self._sdist_build(env_name, chosen, interpreter, cwd, depth)
                )
            dists.append(chosen)
        result = _canonical(dists)
        self._memo[memo_key] = result
        return result

    def _sdist_build(
        self, env_name: str, dist: LockedDist, interpreter: Interpreter, cwd: Path, depth: int
    ) -> tuple[LockedDist, ...]:
        if depth >= _MAX_SDIST_DEPTH:
            raise LockError(
                f"env {env_name}: {dist.name} needs sdist-only build requirements nested deeper than "
                f"{_MAX_SDIST_DEPTH} levels; pin versions that ship wheels"
            )
        requirements = self.sdist_requirements(dist, env_name)
        return self.resolve(env_name, requirements, (), interpreter, cwd, depth=depth + 1)


def _stale_reason(entry: LockEntry | None, interpreter: Interpreter, index_url: str) -> str:
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


def _lock_one(
    project: Project,
    spec: EnvSpec,
    interpreter: Interpreter,
    locker: Locker,
    *,
    build_interpreter: Interpreter | None,
    lock: LockFile | None,
    locked: bool,
) -> LockedEnv:
    requirements: EnvRequirements = env_requirements(spec, project.core)
    key = lock_key(requirements, interpreter, locker.index_url, build_interpreter)
    current = lock.get(spec.key, key) if lock is not None else None
    if current is not None:
        verify_lock_entry(spec.key, current)
        return LockedEnv(spec, interpreter, current.dists, current.build_dists, build_interpreter, key)
    if locked:
        previous = lock.entries.get(spec.key) if lock is not None else None
        reason = _stale_reason(previous, interpreter, locker.index_url)
        raise LockError(f"{LOCK_FILE_NAME} is stale for env {spec.name}: {reason} (run `nixtox lock`)")
    root = project.core.root
    dists = locker.resolve(
        spec.name,
        requirements.requirements,
        requirements.constraints,
        interpreter,
        root,
        local_project=_normalize(requirements.local_project)
        if requirements.local_project is not None
        else None,
    )
    build_dists = locker.resolve(
        spec.name, requirements.build_requirements, (), build_interpreter or interpreter, root
    )
    entry = LockEntry(key, interpreter_identity(interpreter), locker.index_url, dists, build_dists)
    if lock is not None:
        lock.put(spec.key, entry)
    return LockedEnv(spec, interpreter, dists, build_dists, build_interpreter, key)


def lock_env(
    project: Project,
    spec: EnvSpec,
    interpreter: Interpreter,
    *,
    build_interpreter: Interpreter | None = None,
    index_url: str | None = None,
    lock: LockFile | None = None,
    locked: bool = False,
    engine: ResolverEngine | None = None,
    locker: Locker | None = None,
) -> LockedEnv:
    """Lock one env. With ``lock``, a current entry is reused (no resolver call) and a fresh one is
    ``put`` into it (the caller writes it); ``locked=True`` refuses to resolve. Pass one ``locker`` to
    several calls to share its resolver memo."""
    locker = locker or Locker(engine or default_engine(), effective_index_url(index_url))
    return _lock_one(
        project, spec, interpreter, locker, build_interpreter=build_interpreter, lock=lock, locked=locked
    )


def lock_envs(
    project: Project,
    specs: Sequence[EnvSpec],
    interpreters: Mapping[str, Interpreter],
    *,
    build_interpreters: Mapping[str, Interpreter] | None = None,
    index_url: str | None = None,
    locked: bool = False,
    lock_path: Path | None = None,
    engine: ResolverEngine | None = None,
    locker: Locker | None = None,
) -> list[LockedEnv]:
    """Lock every spec (interpreters keyed by ``spec.key``) against ``nixtox.lock`` at the project root:
    current entries are reused, changed ones relocked (one resolver call per distinct requirement set),
    and the file is rewritten only when an entry changed. This is what ``nixtox run`` calls."""
    path = lock_path or project.core.root / LOCK_FILE_NAME
    lock = LockFile.read(path)
    before = dict(lock.entries)
    locker = locker or Locker(engine or default_engine(), effective_index_url(index_url))
    result: list[LockedEnv] = []
    try:
        for spec in specs:
            build_interpreter = (build_interpreters or {}).get(spec.key)
            result.append(
                _lock_one(
                    project,
                    spec,
                    interpreters[spec.key],
                    locker,
                    build_interpreter=build_interpreter,
                    lock=lock,
                    locked=locked,
                )
            )
    finally:
        # envs locked before a failure keep their new entries
        if not locked and lock.entries != before:
            fresh = {key: entry for key, entry in lock.entries.items() if before.get(key) != entry}
            LockFile.update(path, put=fresh)
    return result


def write_lock(
    project: Project,
    specs: Sequence[EnvSpec],
    interpreters: Mapping[str, Interpreter],
    *,
    build_interpreters: Mapping[str, Interpreter] | None = None,
    index_url: str | None = None,
    upgrade: bool = False,
    engine: ResolverEngine | None = None,
    lock_path: Path | None = None,
) -> Path:
    """``nixtox lock``: lock ``specs`` (all: ``upgrade`` re-resolves even current entries), drop entries of
    envs the project no longer has, and write ``nixtox.lock``. Returns its path."""
    path = lock_path or project.core.root / LOCK_FILE_NAME
    lock = LockFile.read(path, repair=True)  # `nixtox lock` is how a damaged lock is regenerated
    if upgrade:
        lock.prune({key for key in lock.entries if key not in {spec.key for spec in specs}})
    locker = Locker(engine or default_engine(), effective_index_url(index_url))
    for spec in specs:
        _lock_one(
            project,
            spec,
            interpreters[spec.key],
            locker,
            build_interpreter=(build_interpreters or {}).get(spec.key),
            lock=lock,
            locked=False,
        )
    fresh = {spec.key: lock.entries[spec.key] for spec in specs}
    LockFile.update(path, put=fresh, keep={spec.key for spec in project.envs}, repair=True)
    return path
