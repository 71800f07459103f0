"""``uv.lock`` read as plain values, and the packages ``uv sync`` would install from it for one interpreter.

uv's lock is universal: one ``[[package]]`` per (name, version, source), with ``dependencies``,
``[package.optional-dependencies]`` and ``[package.dev-dependencies]`` (groups) whose entries carry
markers, extras and, where a name has several versions (forks), the ``version``/``source`` that
disambiguate. ``select`` walks those edges from the project with the interpreter's marker environment,
as ``uv sync`` does, and returns every package it reaches (the project itself excluded: nixtox builds it
from its tree) with all its files, and every marker it evaluated (for ``patch_sensitive``).
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixtox.errors import LockError
from nixtox.lock._files import DistFile, ResolvedPackage, filename_of
from nixtox.lock._markers import evaluate_marker, python_allows
from nixtox.model import Interpreter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["UV_LOCK_NAME", "Selected", "UvDependency", "UvLock", "UvPackage", "UvSelection"]

UV_LOCK_NAME = "uv.lock"
_SUPPORTED_VERSIONS = (1,)
#: sources that are files on disk or a checkout, not index files with hashes
_LOCAL_SOURCES = ("editable", "virtual", "directory", "path", "git")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _Malformed(Exception):
    pass


@dataclass(frozen=True)
class UvDependency:
    """One edge: ``{ name, version?, source?, marker?, extra? }``."""

    name: str
    version: str | None = None
    source: tuple[tuple[str, str], ...] | None = None
    marker: str | None = None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class UvPackage:
    name: str
    version: str | None
    source: tuple[tuple[str, str], ...]
    files: tuple[DistFile, ...] = ()
    dependencies: tuple[UvDependency, ...] = ()
    optional: Mapping[str, tuple[UvDependency, ...]] = field(default_factory=dict)
    groups: Mapping[str, tuple[UvDependency, ...]] = field(default_factory=dict)
    resolution_markers: tuple[str, ...] = ()

    @property
    def local(self) -> str | None:
        """The source kind when the package is not an index or URL file (``editable``, ``git`` ...)."""
        return next((kind for kind, _ in self.source if kind in _LOCAL_SOURCES), None)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


@dataclass(frozen=True)
class UvSelection:
    """What ``uv sync`` installs, after flags and tox-uv's keys are applied (see ``_uvsync``)."""

    #: the project's own ``dependencies`` (False with ``--only-group``/``--only-dev``)
    project_dependencies: bool = True
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    #: extras left out of ``all_extras`` (``--no-extra``)
    no_extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    #: packages left out of the install (``--no-install-package``); their dependencies stay
    skip_packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selected:
    packages: tuple[ResolvedPackage, ...]
    #: every marker the walk evaluated, and the ``requires-python`` it checked
    markers: tuple[str, ...]
    specifiers: tuple[str, ...]


@dataclass(frozen=True)
class UvLock:
    path: Path
    digest: str
    requires_python: str | None
    packages: tuple[UvPackage, ...]

    @classmethod
    def read(cls, path: Path) -> UvLock:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LockError(f"cannot read {path}: {exc.strerror}") from None
        try:
            parsed = tomllib.loads(data.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LockError(f"{path}: not valid TOML ({exc}); run `uv lock`") from None
        if parsed.get("version") not in _SUPPORTED_VERSIONS:
            raise LockError(
                f"{path}: lock version {parsed.get('version')!r} is not supported (nixtox reads version "
                f"{', '.join(map(str, _SUPPORTED_VERSIONS))}); run `uv lock` with a uv that writes it"
            )
        try:
            packages = tuple(_package(item) for item in _tables(parsed.get("package", []), "package"))
        except _Malformed as exc:
            raise LockError(f"{path}: not a well-formed uv.lock: {exc}; run `uv lock`") from None
        requires_python = parsed.get("requires-python")
        return cls(
            path,
            hashlib.sha256(data).hexdigest(),
            requires_python if isinstance(requires_python, str) else None,
            packages,
        )

    def project(self, name: str) -> UvPackage:
        """The project's own (local) package."""
        wanted = _normalize(name)
        for package in self.packages:
            if _normalize(package.name) == wanted and package.local in ("editable", "virtual", "directory"):
                return package
        raise LockError(
            f"{self.path}: has no entry for the project {name!r} (it was locked for another project); "
            "run `uv lock`"
        )

    def select(self, project: UvPackage, selection: UvSelection, interpreter: Interpreter) -> Selected:
        walk = _Walk(self, interpreter)
        if self.requires_python:
            walk.specifiers.append(self.requires_python)
            full = dict(interpreter.marker_env).get("python_full_version", "")
            if full and not python_allows(self.requires_python, full, where=str(self.path)):
                raise LockError(
                    f"{self.path}: the project requires Python {self.requires_python}; "
                    f"the env's interpreter is {full}"
                )
        walk.root(project, selection)
        skip = {_normalize(name) for name in selection.skip_packages}
        chosen = [p for p in walk.reached if p is not project and _normalize(p.name) not in skip]
        for package in chosen:
            if package.local is not None:
                raise LockError(
                    f"{self.path}: {package.label} comes from a local {package.local} source; nixtox "
                    "installs only the project itself from its tree, every other package from an index file"
                )
            if not package.files or package.version is None:
                raise LockError(f"{self.path}: {package.label} has no files (wheels or sdist) in the lock")
        return Selected(
            tuple(ResolvedPackage(p.name, p.version or "", p.files) for p in chosen),
            tuple(walk.markers),
            tuple(walk.specifiers),
        )


@dataclass
class _Walk:
    """The edges from the project, followed with the interpreter's markers (uv sync's install set)."""

    lock: UvLock
    interpreter: Interpreter
    reached: list[UvPackage] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    specifiers: list[str] = field(default_factory=list)
    _extras_seen: dict[int, set[str]] = field(default_factory=dict)

    def root(self, project: UvPackage, selection: UvSelection) -> None:
        self.reached.append(project)
        self._extras_seen[id(project)] = set()
        edges: list[UvDependency] = []
        if selection.project_dependencies:
            edges += project.dependencies
            dropped = {_normalize(e) for e in selection.no_extras}
            extras = sorted(project.optional) if selection.all_extras else selection.extras
            for extra in (e for e in extras if _normalize(e) not in dropped):
                if _normalize(extra) not in {_normalize(e) for e in project.optional}:
                    known = ", ".join(sorted(project.optional)) or "none"
                    raise LockError(
                        f"{self.lock.path}: extra {extra!r} is not defined for {project.name} "
                        f"(known: {known})"
                    )
                edges += _by_name(project.optional, extra)
        for group in selection.groups:
            if _normalize(group) not in {_normalize(g) for g in project.groups}:
                known = ", ".join(sorted(project.groups)) or "none"
                raise LockError(
                    f"{self.lock.path}: dependency group {group!r} is not defined for {project.name} "
                    f"(known: {known}); run `uv lock` if pyproject.toml defines it"
                )
            edges += _by_name(project.groups, group)
        self._follow(project, edges)

    def _follow(self, parent: UvPackage, edges: Sequence[UvDependency]) -> None:
        pending = [(parent, edge) for edge in edges]
        while pending:
            source, edge = pending.pop(0)
            if edge.marker:
                self.markers.append(edge.marker)
            where = f"{self.lock.path}: {source.label} -> {edge.name}"
            if not evaluate_marker(edge.marker, self.interpreter, where=where):
                continue
            target = self._target(edge, where)
            seen = self._extras_seen.get(id(target))
            wanted = {_normalize(e) for e in edge.extras}
            if seen is None:
                self.reached.append(target)
                self._extras_seen[id(target)] = seen = set()
                pending += [(target, dep) for dep in target.dependencies]
            for extra in sorted(wanted - seen):
                seen.add(extra)
                pending += [(target, dep) for dep in _by_name(target.optional, extra)]

    def _target(self, edge: UvDependency, where: str) -> UvPackage:
        name = _normalize(edge.name)
        candidates = [
            p
            for p in self.lock.packages
            if _normalize(p.name) == name
            and (edge.version is None or p.version == edge.version)
            and (edge.source is None or p.source == edge.source)
        ]
        if len(candidates) > 1:
            for package in candidates:
                self.markers.extend(package.resolution_markers)
            candidates = [
                p
                for p in candidates
                if not p.resolution_markers
                or any(evaluate_marker(m, self.interpreter, where=where) for m in p.resolution_markers)
            ]
        if len(candidates) != 1:
            found = "no package" if not candidates else f"{len(candidates)} packages"
            raise LockError(f"{where}: {found} of that name fit this interpreter; run `uv lock`")
        return candidates[0]


def _by_name(table: Mapping[str, tuple[UvDependency, ...]], name: str) -> tuple[UvDependency, ...]:
    wanted = _normalize(name)
    return next((deps for key, deps in table.items() if _normalize(key) == wanted), ())


# --- parsing ---------------------------------------------------------------------------------------------


def _tables(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Malformed(f"{where} must be an array of tables")
    return value


def _source(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where}: source must be a table")
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def _dependency(item: dict[str, Any], where: str) -> UvDependency:
    name = item.get("name")
    if not isinstance(name, str):
        raise _Malformed(f"{where}: a dependency needs a name")
    extras = item.get("extra", [])
    if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
        raise _Malformed(f"{where}: extra of {name} must be a list of strings")
    version, marker = item.get("version"), item.get("marker")
    return UvDependency(
        name=name,
        version=version if isinstance(version, str) else None,
        source=_source(item["source"], where) if "source" in item else None,
        marker=marker if isinstance(marker, str) else None,
        extras=tuple(extras),
    )


def _dependency_table(value: object, where: str) -> dict[str, tuple[UvDependency, ...]]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} must be a table")
    return {
        key: tuple(_dependency(item, f"{where}.{key}") for item in _tables(deps, f"{where}.{key}"))
        for key, deps in value.items()
    }


def _file(item: object, where: str) -> DistFile | None:
    """A file with a URL and a sha256 (a local ``path`` file gives None: not fetchable)."""
    if not isinstance(item, dict):
        raise _Malformed(f"{where}: a file must be a table")
    url, digest = item.get("url"), item.get("hash")
    if not isinstance(url, str):
        return None
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise _Malformed(f"{where}: {filename_of(url)} needs a sha256 hash")
    size = item.get("size")
    return DistFile(
        url=url,
        sha256=digest.removeprefix("sha256:"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        filename=str(item.get("filename") or ""),
    )


def _package(item: dict[str, Any]) -> UvPackage:
    name = item.get("name")
    if not isinstance(name, str):
        raise _Malformed("a [[package]] needs a name")
    where = f"package {name}"
    version = item.get("version")
    files = [_file(w, where) for w in item.get("wheels", [])]
    if "sdist" in item:
        files.append(_file(item["sdist"], where))
    markers = item.get("resolution-markers", [])
    return UvPackage(
        name=name,
        version=version if isinstance(version, str) else None,
        source=_source(item.get("source", {}), where),
        files=tuple(f for f in files if f is not None),
        dependencies=tuple(_dependency(d, where) for d in _tables(item.get("dependencies", []), where)),
        optional=_dependency_table(item.get("optional-dependencies", {}), f"{where} optional-dependencies"),
        groups=_dependency_table(item.get("dev-dependencies", {}), f"{where} dev-dependencies"),
        resolution_markers=tuple(m for m in markers if isinstance(m, str)),
    )
