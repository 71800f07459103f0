"""What the lock stage needs from the project's ``pyproject.toml``.

Name, dependencies, optional dependencies (static, or ``dynamic`` -> the resolver reads the local project),
PEP 735 dependency groups (with ``include-group``), and the build system. A project without a
pyproject.toml is a setuptools project with dynamic metadata (PEP 517's fallback backend).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixtox.errors import ConfigError
from nixtox.source import metadata_files, metadata_hash

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = [
    "DEFAULT_BUILD_BACKEND",
    "DEFAULT_BUILD_REQUIRES",
    "ProjectMetadata",
    "dependency_group",
    "read_pyproject",
]

#: PEP 517's fallback when a project declares no ``[build-system]``.
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)
DEFAULT_BUILD_BACKEND = "setuptools.build_meta:__legacy__"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class ProjectMetadata:
    root: Path
    name: str | None
    #: None when ``dependencies`` is dynamic (or there is no ``[project]`` table).
    dependencies: tuple[str, ...] | None
    #: None when ``optional-dependencies`` is dynamic.
    optional_dependencies: Mapping[str, tuple[str, ...]] | None
    #: raw PEP 735 groups: strings and ``{"include-group": NAME}`` tables.
    dependency_groups: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    build_requires: tuple[str, ...] = DEFAULT_BUILD_REQUIRES
    build_backend: str = DEFAULT_BUILD_BACKEND
    #: sha256 of pyproject.toml, setup.cfg and setup.py: dynamic metadata may depend on any of them.
    metadata_digest: str = ""

    @property
    def static(self) -> bool:
        return (
            self.name is not None and self.dependencies is not None and self.optional_dependencies is not None
        )

    def requirements(self, extras: tuple[str, ...]) -> tuple[str, ...]:
        """The project's own dependencies plus those of ``extras`` (self-references expanded).

        Only for static metadata; a dynamic project is given to the resolver as a local path instead.
        """
        if self.dependencies is None or self.optional_dependencies is None:
            raise ValueError("dynamic project metadata")
        result = list(self.dependencies)
        optional = {_normalize(k): v for k, v in self.optional_dependencies.items()}
        pending, seen = [_normalize(e) for e in extras], set()
        while pending:
            extra = pending.pop(0)
            if extra in seen:
                continue
            seen.add(extra)
            if extra not in optional:
                known = ", ".join(sorted(optional)) or "none"
                raise ConfigError(
                    f"{self.root / 'pyproject.toml'}: extra {extra!r} is not in "
                    f"[project.optional-dependencies] (known: {known})"
                )
            for requirement in optional[extra]:
                own = _self_reference(requirement, self.name or "")
                if own is None:
                    result.append(requirement)
                else:
                    pending.extend(own)
        return tuple(dict.fromkeys(result))


def _self_reference(requirement: str, name: str) -> list[str] | None:
    """``myproject[a,b]`` inside myproject's own extras -> ["a", "b"]."""
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*\[([^\]]*)\]\s*$", requirement)
    if match is None or _normalize(match[1]) != _normalize(name):
        return None
    return [_normalize(e) for e in match[2].split(",") if e.strip()]


def dependency_group(meta: ProjectMetadata, group: str) -> tuple[str, ...]:
    """PEP 735: the requirements of ``group``, ``include-group`` expanded, cycles rejected."""
    groups = {_normalize(k): v for k, v in meta.dependency_groups.items()}
    where = meta.root / "pyproject.toml"

    def expand(name: str, trail: tuple[str, ...]) -> list[str]:
        if name in trail:
            raise ConfigError(f"{where}: [dependency-groups] include cycle: {' -> '.join((*trail, name))}")
        if name not in groups:
            known = ", ".join(sorted(groups)) or "none"
            raise ConfigError(f"{where}: dependency group {name!r} is not defined (known: {known})")
        out: list[str] = []
        for item in groups[name]:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
                out += expand(_normalize(item["include-group"]), (*trail, name))
            else:
                raise ConfigError(f"{where}: dependency group {name!r} has an invalid item {item!r}")
        return out

    return tuple(dict.fromkeys(expand(_normalize(group), ())))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


_memo: dict[tuple[str, str], ProjectMetadata] = {}


def read_pyproject(root: Path) -> ProjectMetadata:
    """Read ``root/pyproject.toml`` (memoised by the content digest of the metadata files)."""
    texts = metadata_files(root)
    digest = metadata_hash(root, texts)
    key = (str(root), digest)
    if key not in _memo:
        _memo[key] = _parse(root, texts.get("pyproject.toml"), digest)
    return _memo[key]


def _parse(root: Path, text: bytes | None, metadata_digest: str) -> ProjectMetadata:
    where = root / "pyproject.toml"
    if text is None:
        return ProjectMetadata(root, None, None, None, metadata_digest=metadata_digest)
    try:
        data = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    project = data.get("project")
    build = data.get("build-system", {})
    if not isinstance(build, dict):
        raise ConfigError(f"{where}: [build-system] must be a table")
    build_requires = (
        _strings(build["requires"], f"{where}: build-system.requires")
        if "requires" in build
        else DEFAULT_BUILD_REQUIRES
    )
    backend = build.get("build-backend", DEFAULT_BUILD_BACKEND)
    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
        raise ConfigError(f"{where}: [dependency-groups] must map names to lists")
    name: str | None = None
    dependencies: tuple[str, ...] | None = None
    optional: dict[str, tuple[str, ...]] | None = None
    if isinstance(project, dict):
        dynamic = project.get("dynamic", [])
        name = project.get("name") if isinstance(project.get("name"), str) else None
        if "dependencies" not in dynamic:
            dependencies = _strings(project.get("dependencies", []), f"{where}: project.dependencies")
        if "optional-dependencies" not in dynamic:
            table = project.get("optional-dependencies", {})
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: project.optional-dependencies must be a table")
            optional = {
                k: _strings(v, f"{where}: project.optional-dependencies.{k}") for k, v in table.items()
            }
    return ProjectMetadata(
        root=root,
        name=name,
        dependencies=dependencies,
        optional_dependencies=optional,
        dependency_groups={k: tuple(v) for k, v in groups.items()},
        build_requires=build_requires,
        build_backend=str(backend),
        metadata_digest=metadata_digest,
    )
