"""Resolver engines: requirements + interpreter -> pinned packages with their files.

* ``uv`` (default): ``uv pip compile --format pylock.toml --python <interpreter>``; lists every file of
  each pinned version, so the wheel is chosen here with ``packaging.tags``.
* ``pip`` (fallback without uv, or ``NIXTOX_RESOLVER=pip``): ``pip install --dry-run --report -`` run with
  the target interpreter; pip reports the one file it picked for that interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from nixtox._process import run_process
from nixtox.lock._files import DistFile, ResolvedPackage
from nixtox.lock._index import INDEX_VARIABLES, IndexConfig
from nixtox.model import Interpreter, ResolverOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = [
    "PipEngine",
    "ResolutionError",
    "ResolveRequest",
    "ResolverEngine",
    "UvEngine",
    "default_engine",
    "find_uv",
    "one_line",
]


class ResolutionError(Exception):
    """The resolver refused; ``reason`` is its explanation on one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ResolveRequest:
    requirements: tuple[str, ...]
    constraints: tuple[str, ...]
    interpreter: Interpreter
    index: IndexConfig
    #: relative paths inside requirement lines are relative to this directory.
    cwd: Path
    options: ResolverOptions = field(default_factory=ResolverOptions)


class ResolverEngine(Protocol):
    name: str

    def resolve(self, request: ResolveRequest) -> list[ResolvedPackage]: ...


def one_line(stderr: str) -> str:
    """uv/pip's explanation without decoration: ``No solution found ...: Because ...``."""
    lines = []
    for raw in stderr.splitlines():
        line = re.sub(
            r"^[\s\u00d7\u2570\u2500\u25b6\u2502|]*(error:|cause:|ERROR:|hint:)?\s*", "", raw
        ).strip()
        if line and not line.startswith(("Using ", "Resolved", "warning:")):
            lines.append(line)
    joined = ""
    for line in lines:
        joined += (" " if joined.endswith((".", ":", "!", "?")) else ": ") + line if joined else line
    return joined[:800] or "the resolver failed without a message"


_RELATIVE = re.compile(r"^(?P<editable>-e\s+)?(?P<path>\.{1,2}(/[^\[\s;]*)?)(?P<rest>.*)$")


def _absolute(line: str, cwd: Path) -> str:
    """A root-relative local requirement (``.[x]``, ``./lib``, ``-e ../other``) made absolute: the
    requirements file lives in a temporary directory, and resolvers read its paths relative to it."""
    match = _RELATIVE.match(line)
    if match is None:
        return line
    return f"{match['editable'] or ''}{(cwd / match['path']).resolve()}{match['rest']}"


def _write_inputs(tmp: Path, request: ResolveRequest) -> tuple[Path, Path | None]:
    requirements = tmp / "requirements.in"
    requirements.write_text("".join(f"{_absolute(line, request.cwd)}\n" for line in request.requirements))
    constraints = None
    if request.constraints:
        constraints = tmp / "constraints.txt"
        constraints.write_text("".join(f"{line}\n" for line in request.constraints))
    return requirements, constraints


def find_uv() -> str | None:
    # the uv wheel installs its binary next to the interpreter running nixtox
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("uv")


def _pylock_files(entry: dict[str, Any], cwd: Path) -> tuple[DistFile, ...]:
    files = []
    for wheel in entry.get("wheels", []):
        files.append(_pylock_file(wheel))
    if "sdist" in entry:
        files.append(_pylock_file(entry["sdist"]))
    if "archive" in entry:  # a local file: uv gives its path relative to the resolver's cwd
        archive = entry["archive"]
        path = (cwd / archive["path"]).resolve() if "path" in archive else None
        url = path.as_uri() if path is not None else archive["url"]
        files.append(
            DistFile(
                url=url, sha256=archive["hashes"]["sha256"], size=archive.get("size"), filename=Path(url).name
            )
        )
    return tuple(files)


def _pylock_file(item: dict[str, Any]) -> DistFile:
    return DistFile(
        url=item["url"], sha256=item["hashes"]["sha256"], size=item.get("size"), filename=item.get("name", "")
    )


def _uv_options(options: ResolverOptions) -> list[str]:
    """What tox-uv passes for ``pip_pre`` and ``uv_resolution``."""
    argv = ["--prerelease", "allow"] if options.pre_releases else []
    return argv + (["--resolution", options.resolution] if options.resolution else [])


def _pip_options(options: ResolverOptions) -> list[str]:
    if options.resolution not in ("", "highest"):
        raise ResolutionError(
            f"uv_resolution = {options.resolution} needs the uv resolver (unset NIXTOX_RESOLVER=pip)"
        )
    return ["--pre"] if options.pre_releases else []


@dataclass
class UvEngine:
    name: str = "uv"
    uv: str | None = None

    def resolve(self, request: ResolveRequest) -> list[ResolvedPackage]:
        uv = self.uv or find_uv() or "uv"
        with tempfile.TemporaryDirectory(prefix="nixtox-lock-") as tmp:
            requirements, constraints = _write_inputs(Path(tmp), request)
            argv = [
                uv,
                "pip",
                "compile",
                str(requirements),
                "--format",
                "pylock.toml",
                "--no-header",
                "--quiet",
                "--python",
                str(request.interpreter.executable),
                "--index-url",
                request.index.url,
                "--no-progress",
            ]
            for extra in request.index.extra:
                argv += ["--extra-index-url", extra]
            if constraints is not None:
                argv += ["--constraint", str(constraints)]
            argv += _uv_options(request.options)
            # the indexes are given explicitly (an env's set_env may name others than the process has)
            env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("UV_PYTHON", "VIRTUAL_ENV")) and k not in INDEX_VARIABLES
            }
            outcome = run_process(argv, cwd=request.cwd, env={**env, "NO_COLOR": "1"})
        if not outcome.ok:
            raise ResolutionError(one_line(outcome.stderr))
        try:
            data = tomllib.loads(outcome.stdout)
        except tomllib.TOMLDecodeError as exc:
            raise ResolutionError(f"uv printed an unreadable pylock.toml: {exc}") from None
        resolved = []
        for entry in data.get("packages", []):
            if "directory" in entry:  # a local project (the project itself, or a path in deps)
                directory = str((request.cwd / entry["directory"]["path"]).resolve())
                resolved.append(ResolvedPackage(entry["name"], "", (), entry.get("marker"), directory))
                continue
            if "version" not in entry:  # a VCS checkout
                resolved.append(ResolvedPackage(entry["name"], "", (), entry.get("marker")))
                continue
            files = _pylock_files(entry, request.cwd)
            requires_python = entry.get("requires-python")
            package = ResolvedPackage(
                entry["name"], entry["version"], files, entry.get("marker"), requires_python=requires_python
            )
            resolved.append(package)
        return resolved


@dataclass
class PipEngine:
    name: str = "pip"

    def _argv(self, interpreter: Interpreter) -> list[str]:
        has_pip = run_process([str(interpreter.executable), "-c", "import pip"], check_program=False).ok
        if has_pip:
            return [str(interpreter.executable), "-m", "pip"]
        # pip >= 22.3 can drive another interpreter
        return [sys.executable, "-m", "pip", "--python", str(interpreter.executable)]

    def resolve(self, request: ResolveRequest) -> list[ResolvedPackage]:
        with tempfile.TemporaryDirectory(prefix="nixtox-lock-") as tmp:
            requirements, constraints = _write_inputs(Path(tmp), request)
            argv = [
                *self._argv(request.interpreter),
                "install",
                "--dry-run",
                "--ignore-installed",
                "--report",
                "-",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                # no pip.conf, no PIP_* variables: a machine's find-links or extra index never decide a lock
                "--isolated",
                "--index-url",
                request.index.url,
                "-r",
                str(requirements),
            ]
            for extra in request.index.extra:
                argv += ["--extra-index-url", extra]
            if constraints is not None:
                argv += ["-c", str(constraints)]
            argv += _pip_options(request.options)
            outcome = run_process(argv, cwd=request.cwd, env={**os.environ, "PIP_NO_COLOR": "1"})
        if not outcome.ok:
            raise ResolutionError(one_line(outcome.stderr))
        try:
            report = json.loads(outcome.stdout)
        except ValueError as exc:
            raise ResolutionError(f"pip printed an unreadable report: {exc}") from None
        return [_pip_package(item) for item in report.get("install", [])]


def _pip_package(item: dict[str, Any]) -> ResolvedPackage:
    metadata = item["metadata"]
    info = item["download_info"]
    archive = info.get("archive_info")
    if archive is None:  # a local directory (the project itself, or a path in deps): no file to lock
        directory = unquote(urlsplit(info["url"]).path) if info["url"].startswith("file:") else None
        return ResolvedPackage(metadata["name"], "", (), directory=directory)
    hashes = archive.get("hashes") or {}
    sha256 = hashes.get("sha256") or archive.get("hash", "").removeprefix("sha256=")
    return ResolvedPackage(
        metadata["name"],
        metadata["version"],
        (DistFile(url=info["url"], sha256=sha256),),
        requires=tuple(metadata.get("requires_dist") or ()),
        requires_python=metadata.get("requires_python"),
    )


def default_engine(choice: str | None = None) -> ResolverEngine:
    """``NIXTOX_RESOLVER`` (``uv`` | ``pip``), else uv (a dependency of nixtox), else pip."""
    wanted = choice or os.environ.get("NIXTOX_RESOLVER", "")
    if wanted == "pip":
        return PipEngine()
    uv = find_uv()
    if wanted == "uv" or uv is not None:
        return UvEngine(uv=uv)
    return PipEngine()


def engine_names() -> Sequence[str]:
    return ("uv", "pip")
