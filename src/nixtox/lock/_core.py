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
from nixtox.errors import LockError, NixtoxError
from nixtox.interpreters import InterpreterStore, env_interpreters, import_interpreter
from nixtox.lock._engines import ResolutionError, ResolverEngine, ResolveRequest, default_engine
from nixtox.lock._existing import PinSource, existing_lock
from nixtox.lock._files import ResolvedPackage, choose_file, marker_applies
from nixtox.lock._index import DEFAULT_INDEX_URL, IndexConfig, index_config
from nixtox.lock._lockfile import LOCK_FILE_NAME, LockEntry, LockFile
from nixtox.lock._markers import patch_sensitive
from nixtox.lock._requirements import (
    env_requirements,
    interpreter_identity,
    interpreter_matches,
    lock_key,
    locked_for,
    package_constraint_hint,
)
from nixtox.lock._sdist import download, sdist_build_requirements
from nixtox.model import (
    DistKind,
    EnvRequirements,
    Envs,
    EnvSpec,
    Interpreter,
    LockedDist,
    LockedEnv,
    Project,
    ResolverOptions,
)
from nixtox.plugins import find_format
from nixtox.pyproject import read_pyproject

__all__ = [
    "DEFAULT_INDEX_URL",
    "LockPolicy",
    "Locker",
    "Pinned",
    "effective_index_url",
    "lock_stage",
    "verify_lock_entry",
]

_NO_OPTIONS = ResolverOptions()
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


def _line_markers(lines: Sequence[str]) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement  # noqa: PLC0415 - resolving only

    found = []
    for line in lines:
        try:
            marker = Requirement(line).marker
        except InvalidRequirement:
            continue
        if marker is not None:
            found.append(str(marker))
    return found


@dataclass(frozen=True)
class Pinned:
    """Packages narrowed to one file each for an interpreter."""

    dists: tuple[LockedDist, ...]
    #: a marker or ``requires-python`` the pins followed from tells the interpreter's patch releases apart
    patch_sensitive: bool = False


@dataclass
class Locker:
    """One resolver engine and its default indexes, with memos shared by every env of a run."""

    engine: ResolverEngine
    index_url: str = DEFAULT_INDEX_URL
    sdist_requirements: SdistRequirements = _read_sdist_requirements
    #: resolver invocations made (a no-op run makes none).
    resolver_calls: int = 0
    _memo: dict[tuple[object, ...], Pinned] = field(default_factory=dict)

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
        options: ResolverOptions = _NO_OPTIONS,
    ) -> tuple[LockedDist, ...]:
        """``index``: the env's indexes (default: ``index_url`` alone); ``local_project``: the project's
        name when it is one of the requirements (``.``), which is then not part of the result;
        ``editable``: root-relative paths of local projects to install editable."""
        return self.pin(
            env_name, requirements, constraints, interpreter, cwd,
            local_project=local_project, depth=depth, index=index, editable=editable, options=options,
        ).dists  # fmt: skip

    def pin(
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
        options: ResolverOptions = _NO_OPTIONS,
    ) -> Pinned:
        """Resolve ``requirements`` (one resolver call per distinct request) and pin one file each."""
        if not requirements:
            return Pinned(())
        index = index or IndexConfig(self.index_url)
        identity = interpreter_identity(interpreter)
        memo_key = (
            tuple(requirements), tuple(constraints), identity, local_project, index, tuple(editable), options
        )  # fmt: skip
        if memo_key in self._memo:
            return self._memo[memo_key]
        request = ResolveRequest(tuple(requirements), tuple(constraints), interpreter, index, cwd, options)
        self.resolver_calls += 1
        try:
            packages = self.engine.resolve(request)
        except ResolutionError as exc:
            raise LockError(
                f"env {env_name}: cannot resolve its requirements for {_describe(interpreter)}: {exc.reason}"
            ) from None
        markers = [*_line_markers(requirements), *_line_markers(constraints)]
        for package in packages:
            markers += [package.marker] if package.marker else []
            markers += _line_markers(package.requires)
        specifiers = [p.requires_python for p in packages if p.requires_python]
        result = self.pin_packages(
            env_name, packages, interpreter, cwd, local_project=local_project, depth=depth,
            markers=markers, specifiers=specifiers, index=index, editable=editable,
        )  # fmt: skip
        self._memo[memo_key] = result
        return result

    def pin_packages(
        self,
        env_name: str,
        packages: Sequence[ResolvedPackage],
        interpreter: Interpreter,
        cwd: Path,
        *,
        local_project: str | None = None,
        depth: int = 0,
        markers: Sequence[str] = (),
        specifiers: Sequence[str] = (),
        index: IndexConfig | None = None,
        editable: Sequence[str] = (),
    ) -> Pinned:
        """Pinned packages (a resolution, or an existing lock's selection) -> one file each, an sdist with
        its build requirements resolved; ``markers``/``specifiers`` are what the pins followed from."""
        index = index or IndexConfig(self.index_url)
        dists = []
        sensitive = patch_sensitive(markers, specifiers, interpreter)
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
                build = self._sdist_build(env_name, chosen, interpreter, cwd, depth, index=index)
                sensitive = sensitive or build.patch_sensitive
                chosen = dataclasses.replace(chosen, build_requires=build.dists)
            dists.append(chosen)
        return Pinned(_canonical(dists), sensitive)

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
    ) -> Pinned:
        if depth >= _MAX_SDIST_DEPTH:
            raise LockError(
                f"env {env_name}: {dist.name} needs sdist-only build requirements nested deeper than "
                f"{_MAX_SDIST_DEPTH} levels; pin versions that ship wheels"
            )
        requirements = self.sdist_requirements(dist, env_name)
        return self.pin(env_name, requirements, (), interpreter, cwd, depth=depth + 1, index=index)


def _stale_reason(
    entry: LockEntry | None,
    interpreter: Interpreter,
    build_interpreter: Interpreter | None,
    index_url: str,
    source: PinSource | None,
) -> str:
    """Why an entry no longer fits (its key already differs)."""
    if entry is None:
        return "it has no entry"
    if not interpreter_matches(entry.interpreter, interpreter, build_interpreter):
        return f"the interpreter changed (locked for {entry.interpreter})"
    if entry.index_url != index_url:
        return f"the index changed (locked against {entry.index_url})"
    if source is not None:
        return f"{source.label}, the project's metadata or the env's selection changed"
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
    #: False: resolve what is missing or stale for this run only, leaving the file as it is (a run whose
    #: config the command line changes: ``-x``, ``--develop``, ``--installpkg``)
    write: bool = True
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
    #: why the project has no version to build its metadata with ("": it has one; None: not asked yet)
    unversioned: str | None = None
    #: where host interpreters are imported (None: they are not)
    interpreter_store: InterpreterStore | None = None
    notify: Callable[[str], None] | None = None
    _imported: dict[str, Interpreter] = field(default_factory=dict)

    def _in_store(self, interpreter: Interpreter, spec: EnvSpec) -> Interpreter:
        """The interpreter envs are built on: its copy in the store where it can be; the host one for an
        env that sees the interpreter's own site-packages (``system_site_packages``: not
        self-contained by its nature) and where the copy cannot be made (a warning says so)."""
        if self.interpreter_store is None or spec.config.system_site_packages:
            return interpreter
        if interpreter.fingerprint not in self._imported:
            try:
                copy = import_interpreter(interpreter, store=self.interpreter_store, notify=self.notify)
            except NixtoxError as exc:
                if self.notify is not None:
                    self.notify(
                        f"nixtox: warning: {exc.message}; envs on it are built on the host interpreter"
                        " (they run on this machine; remote builders and caches cannot have it)\n"
                    )
                copy = interpreter
            self._imported[interpreter.fingerprint] = copy
        return self._imported[interpreter.fingerprint]

    def lock_one(self, spec: EnvSpec) -> LockedEnv:
        core = self.project.core
        interpreter, build_interpreter = env_interpreters(spec, core, self.interpreters)
        # the copies in the store only change what envs are built on, not what is locked for them
        interpreter = self._in_store(interpreter, spec)
        build_interpreter = self._in_store(build_interpreter, spec) if build_interpreter else None
        source = existing_lock(spec, core)
        requirements = source.requirements if source is not None else env_requirements(spec, core)
        set_env = dict(spec.config.set_env)
        index = index_config(given=self.policy.index_url, set_env=set_env, environ=os.environ)
        index_url = index.url

        def key() -> str:
            pinned_by = source.key_inputs() if source is not None else None
            return lock_key(requirements, interpreter, index.key, build_interpreter, pinned_by=pinned_by)

        entry_key = key()
        current = self._current(spec, entry_key, interpreter, build_interpreter)
        if current is not None:
            return current
        if self.policy.locked:
            entry = self.lock.entries.get(spec.key)
            reason = _stale_reason(entry, interpreter, build_interpreter, index_url, source)
            raise LockError(f"{LOCK_FILE_NAME} is stale for env {spec.label}: {reason} (run `nixtox lock`)")
        if source is not None:
            source.prepare(interpreter)  # `uv lock` may rewrite uv.lock: the key follows what it wrote
            entry_key = key()
        if source is None and requirements.local_project is not None:
            self._check_versioned()
        if self.locker is None:
            self.locker = self.make_locker()
        pinned, build = self._pin(spec, requirements, source, interpreter, build_interpreter, index=index)
        recorded = locked_for(
            interpreter, build_interpreter, patch_sensitive=pinned.patch_sensitive or build.patch_sensitive
        )
        self.lock.put(spec.key, LockEntry(entry_key, recorded, index_url, pinned.dists, build.dists))
        return LockedEnv(spec, interpreter, pinned.dists, build.dists, build_interpreter, entry_key, recorded)

    def _check_versioned(self) -> None:
        """Resolving the project builds its metadata: a version it takes from version control has to be
        there (asked once per run, only when an env resolves)."""
        if self.unversioned is None:
            from nixtox.scm import unversioned_tree  # noqa: PLC0415 - scm imports the lock package

            self.unversioned = unversioned_tree(self.project.core.root, os.environ) or ""
        if self.unversioned:
            raise LockError(self.unversioned)

    def _current(
        self, spec: EnvSpec, key: str, interpreter: Interpreter, build_interpreter: Interpreter | None
    ) -> LockedEnv | None:
        entry = None if self.policy.upgrade else self.lock.get(spec.key, key)
        if entry is None or not interpreter_matches(entry.interpreter, interpreter, build_interpreter):
            return None
        verify_lock_entry(spec.key, entry)
        return LockedEnv(
            spec, interpreter, entry.dists, entry.build_dists, build_interpreter, key, entry.interpreter
        )

    def _pin(
        self,
        spec: EnvSpec,
        requirements: EnvRequirements,
        source: PinSource | None,
        interpreter: Interpreter,
        build_interpreter: Interpreter | None,
        *,
        index: IndexConfig,
    ) -> tuple[Pinned, Pinned]:
        assert self.locker is not None
        root = self.project.core.root
        if source is None:
            local = requirements.local_project
            try:
                pinned = self.locker.pin(
                    spec.label, requirements.requirements, requirements.constraints, interpreter, root,
                    local_project=_normalize(local) if local is not None else None, index=index,
                    editable=requirements.editable_paths, options=requirements.options,
                )  # fmt: skip
            except LockError as exc:
                raise LockError(f"{exc.message}{package_constraint_hint(spec)}") from None
        else:
            selected = source.pins(interpreter)
            pinned = self.locker.pin_packages(
                spec.label, selected.packages, interpreter, root, index=index,
                markers=selected.markers, specifiers=selected.specifiers,
            )  # fmt: skip
        build_python = build_interpreter or interpreter
        build = self.locker.pin(
            spec.label, requirements.build_requirements, (), build_python, root, index=index
        )
        return pinned, build


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
    requirement set). An env installed from uv.lock or a pylock file takes its runtime pins from that
    lock (checked first, ``PinSource.prepare``) and resolves only its build packages. A failing env ends
    with its result and the others go on. The file is rewritten
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
        if policy.write and not policy.locked and (fresh or keep is not None):
            LockFile.update(path, put=fresh, keep=keep, repair=policy.prune)
    return locked
