"""Resolver output as plain values, and the choice of one file per package for an interpreter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from nixtox.model import DistKind, Interpreter, LockedDist

__all__ = ["DistFile", "ResolvedPackage", "choose_file", "filename_of", "marker_applies", "wheel_rank"]


def filename_of(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class DistFile:
    """One file of a release as the index lists it."""

    url: str
    sha256: str
    size: int | None = None
    filename: str = ""

    @property
    def name(self) -> str:
        return self.filename or filename_of(self.url)

    @property
    def is_wheel(self) -> bool:
        return self.name.endswith(".whl")


@dataclass(frozen=True)
class ResolvedPackage:
    """One pinned package of a resolution with every file of that version the resolver knows of."""

    name: str
    version: str
    files: tuple[DistFile, ...]
    marker: str | None = None
    #: a local directory the resolver took the package from (absolute), instead of files
    directory: str | None = None
    #: the package's own requirements (``Requires-Dist``) and ``Requires-Python``, where the resolver
    #: reports them: their markers tell whether the pins hold on another patch release
    requires: tuple[str, ...] = ()
    requires_python: str | None = None


def marker_applies(marker: str | None, interpreter: Interpreter) -> bool:
    """Whether a package's marker holds for the interpreter (True when unknown or unparsable)."""
    if not marker or not interpreter.marker_env:
        return True
    from packaging.markers import InvalidMarker, Marker  # noqa: PLC0415 - resolving only, not a warm run

    try:
        return Marker(marker).evaluate(dict(interpreter.marker_env))
    except InvalidMarker:
        return True


def wheel_rank(filename: str, tag_rank: dict[str, int]) -> tuple[int, int] | None:
    """(tag rank, -build number) of a wheel for an interpreter, or None when it does not fit."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename  # noqa: PLC0415

    try:
        _, _, build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    ranks = [tag_rank[str(tag)] for tag in tags if str(tag) in tag_rank]
    if not ranks:
        return None
    return (min(ranks), -(build[0] if build else 0))


def choose_file(package: ResolvedPackage, interpreter: Interpreter) -> LockedDist | None:
    """The most preferred supported wheel (``packaging.tags`` order), else the sdist, else None."""
    tag_rank = {tag: index for index, tag in enumerate(interpreter.tags)}
    best: tuple[tuple[int, int], str, DistFile] | None = None
    for dist_file in package.files:
        if not dist_file.is_wheel:
            continue
        rank = wheel_rank(dist_file.name, tag_rank)
        if rank is not None and (best is None or (rank, dist_file.name) < best[:2]):
            best = (rank, dist_file.name, dist_file)
    if best is not None:
        return _locked(package, best[2], DistKind.WHEEL)
    sdists = [f for f in package.files if not f.is_wheel]
    return _locked(package, _preferred_sdist(sdists), DistKind.SDIST) if sdists else None


def _preferred_sdist(sdists: Sequence[DistFile]) -> DistFile:
    # PEP 625: .tar.gz is the standard sdist; a legacy .zip only when there is nothing else
    return sorted(sdists, key=lambda f: (not f.name.endswith(".tar.gz"), f.name))[0]


def _locked(package: ResolvedPackage, dist_file: DistFile, kind: DistKind) -> LockedDist:
    return LockedDist(
        name=package.name,
        version=package.version,
        filename=dist_file.name,
        url=dist_file.url,
        sha256=dist_file.sha256,
        size=dist_file.size,
        kind=kind,
    )
