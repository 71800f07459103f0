"""Which version-from-VCS tool, if any, sets the project's version: read from its metadata files only.

A tool counts only where the project's version is dynamic and the backend would ask that tool: a project
with a static version, or one whose version comes from a file (``[tool.setuptools.dynamic]``,
hatchling's ``regex`` source), gets no ``VersionTool`` and so keeps exactly the derivations it had.
"""

from __future__ import annotations

import configparser
import contextlib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nixtox.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["Handoff", "VersionTool", "detect_version_tool"]

#: how the isolated build is told the version: a backend's pretend variable, or a PKG-INFO in its copy of
#: the tree (setuptools-git-versioning and versioningit read one where there is no VCS; they have no
#: pretend variable)
Handoff = Literal["setuptools-scm", "pdm", "poetry", "pkg-info"]

_SETUPTOOLS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class VersionTool:
    """A tool that works the project's version out from version control, as its backend would run it."""

    #: the tool as users know it (``setuptools-scm``, ``hatch-vcs``, ``flit_scm`` ...)
    name: str
    #: what ``nixtox/scm/_runner.py`` runs on the host (``setuptools-scm``, ``hatch-vcs``, ``pdm-backend``,
    #: ``poetry-dynamic-versioning``, ``setuptools-git-versioning``, ``versioningit``)
    runner: str
    #: the distribution whose wheel must be among the locked build requirements to run it
    dist: str
    handoff: Handoff
    #: the project's distribution name (for ``SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<NAME>``), if known
    project: str | None = None
    #: the tool's own config table, handed to the runner (hatch-vcs' ``[tool.hatch.version]`` ...)
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def remedy(self) -> str:
        """What a user can do when no version can be worked out."""
        variable = {
            "setuptools-scm": "SETUPTOOLS_SCM_PRETEND_VERSION",
            "pdm": "PDM_BUILD_SCM_VERSION",
            "poetry": "POETRY_DYNAMIC_VERSIONING_BYPASS",
        }.get(self.handoff)
        where = "run nixtox in a git checkout of the project (or in an unpacked sdist, which has PKG-INFO)"
        return f"{where}, or set {variable}=<version>" if variable else where


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: object) -> dict[str, set[str]]:
    """Canonical name -> extras of each requirement string (what a backend's plugin checks)."""
    if not isinstance(requirements, list):
        return {}
    found: dict[str, set[str]] = {}
    for text in requirements:
        match = _NAME.match(text) if isinstance(text, str) else None
        if match:
            extras = re.match(r"\s*\[([^\]]*)\]", text[match.end() :])
            named = {_canonical(e) for e in extras[1].split(",") if e.strip()} if extras else set()
            found.setdefault(_canonical(match[1]), set()).update(named)
    return found


def _table(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = data.get(key)
        if not isinstance(value, dict):
            return {}
        data = value
    return dict(data)


def _read_toml(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _setup_cfg(root: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    # a broken setup.cfg is setuptools' to report, in the build's own words
    with contextlib.suppress(configparser.Error, UnicodeDecodeError):
        parser.read(root / "setup.cfg", encoding="utf-8")
    return parser


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def detect_version_tool(root: Path) -> VersionTool | None:
    """The tool that gives the project at ``root`` its version from version control, or None."""
    data = _read_toml(root)
    build = _table(data, "build-system")
    backend = str(build.get("build-backend") or "setuptools.build_meta:__legacy__")
    requires = _names(build.get("requires", ["setuptools"]))
    project = data.get("project") if isinstance(data.get("project"), dict) else None
    name = project.get("name") if project and isinstance(project.get("name"), str) else None
    if project is not None and "version" not in project.get("dynamic", []):
        return None  # a static version: no backend asks version control
    tool = _tool_for(root, data, backend, requires, has_project=project is not None)
    if tool is None:
        return None
    if name is None:
        cfg = _setup_cfg(root)
        name = cfg.get("metadata", "name", fallback=None)
    return VersionTool(tool[0], tool[1], tool[2], tool[3], project=name, config=tool[4])


_Found = tuple[str, str, str, Handoff, dict[str, Any]]


def _tool_for(
    root: Path, data: Mapping[str, Any], backend: str, requires: dict[str, set[str]], *, has_project: bool
) -> _Found | None:
    tools = _table(data, "tool")
    if backend in _SETUPTOOLS_BACKENDS:
        return _setuptools(root, tools, requires, has_project=has_project)
    if backend.startswith("hatchling."):
        return _hatchling(_table(tools, "hatch", "version"))
    other = _OTHER_BACKENDS.get(backend)
    return other(tools) if other else None


def _flit_scm(tools: Mapping[str, Any]) -> _Found:
    # flit_scm calls setuptools-scm with its [tool.setuptools_scm] table, as the CLI reads it
    return ("flit_scm", "setuptools-scm", "setuptools-scm", "setuptools-scm", {})


def _pdm(tools: Mapping[str, Any]) -> _Found | None:
    version = _table(tools, "pdm", "version")
    return (
        ("pdm-backend", "pdm-backend", "pdm-backend", "pdm", version)
        if version.get("source") == "scm"
        else None
    )


def _poetry(tools: Mapping[str, Any]) -> _Found | None:
    if _table(tools, "poetry-dynamic-versioning").get("enable") is not True:
        return None
    return (
        "poetry-dynamic-versioning",
        "poetry-dynamic-versioning",
        "poetry-dynamic-versioning",
        "poetry",
        {},
    )


_OTHER_BACKENDS: dict[str, Callable[[Mapping[str, Any]], _Found | None]] = {
    "flit_scm:buildapi": _flit_scm,
    "pdm.backend": _pdm,
    "poetry_dynamic_versioning.backend": _poetry,
}


def _hatchling(version: Mapping[str, Any]) -> _Found | None:
    source = version.get("source")
    if source == "vcs":
        return ("hatch-vcs", "hatch-vcs", "hatch-vcs", "setuptools-scm", dict(version))
    if source == "versioningit":
        return ("versioningit", "versioningit", "versioningit", "pkg-info", {})
    return None


def _setuptools(
    root: Path, tools: Mapping[str, Any], requires: dict[str, set[str]], *, has_project: bool
) -> _Found | None:
    if _table(tools, "setuptools", "dynamic").get("version") is not None:
        return None  # setuptools reads the version from a file or an attribute
    setup_py = _read_text(root / "setup.py")
    cfg = _setup_cfg(root)
    setup_requires = _names(re.split(r"[,\n]", cfg.get("options", "setup_requires", fallback="")))
    requires = {**setup_requires, **requires}
    if "versioningit" in requires and "versioningit" in tools:
        return ("versioningit", "versioningit", "versioningit", "pkg-info", {})
    if "setuptools-git-versioning" in requires:
        enabled = _table(tools, "setuptools-git-versioning").get("enabled") is True
        if enabled or "setuptools_git_versioning" in setup_py:
            return ("setuptools-git-versioning", "setuptools-git-versioning", "setuptools-git-versioning",
                    "pkg-info", {})  # fmt: skip
        return None
    if "setuptools-scm" in requires:
        # what setuptools-scm itself asks before it sets a version (its ``should_infer``): its tool table,
        # the ``[simple]`` extra with a dynamic version, or ``use_scm_version`` in setup.py
        simple = has_project and "simple" in requires["setuptools-scm"]
        if simple or "setuptools_scm" in tools or "use_scm_version" in setup_py:
            return ("setuptools-scm", "setuptools-scm", "setuptools-scm", "setuptools-scm", {})
    return None
