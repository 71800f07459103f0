"""Envs whose runtime pins come from a lock the project already has, not from the resolver.

* ``runner = uv-venv-lock-runner`` (tox-uv): ``uv.lock`` at the project root, selected as ``uv sync``
  would (``_uvsync``, ``_uvlock``); before its pins are used, uv.lock is checked against pyproject.toml
  (``uv lock --check``) unless ``UV_FROZEN``/``--frozen`` says otherwise.
* ``pylock = FILE`` (tox 4.30+): a PEP 751 lock, selected with the env's extras and dependency groups.

Such an env still has a ``nixtox.lock`` entry: its key holds the existing lock's digest (and, for uv.lock,
the parts of pyproject.toml uv locks from, and the env's selection), its packages are the ones read from
the lock, narrowed to one file for the interpreter, and its build packages (the project's build
environment, an sdist's build requirements) are resolved by nixtox, as uv.lock and PEP 751 do not pin
them. A current entry is reused without reading the existing lock again.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import InvalidRequirement, Requirement

from nixtox.errors import LockError
from nixtox.lock._markers import evaluate_marker
from nixtox.lock._pylock import Pylock
from nixtox.lock._requirements import build_requirements
from nixtox.lock._uvlock import UV_LOCK_NAME, Selected, UvLock
from nixtox.lock._uvsync import (
    LOCK_RUNNER,
    LockCheck,
    SyncOptions,
    check_uv_lock,
    project_inputs,
    sync_options,
)
from nixtox.model import CoreConfig, EnvRequirements, EnvSpec, Interpreter
from nixtox.pyproject import read_pyproject

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["PinSource", "PylockSource", "UvLockSource", "existing_lock"]


class PinSource(Protocol):
    """An existing lock an env's runtime pins are read from."""

    @property
    def label(self) -> str:
        """How messages name it (``uv.lock``, ``pylock file pylock.toml``)."""

    @property
    def requirements(self) -> EnvRequirements:
        """The env's own requirements: only the build requirements, the runtime set is the lock's."""

    def key_inputs(self) -> dict[str, Any]: ...

    def prepare(self, interpreter: Interpreter) -> None:
        """Make sure the lock may be used (uv.lock current for pyproject.toml), before ``pins``."""

    def pins(self, interpreter: Interpreter) -> Selected: ...


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _pyproject(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text())
    except OSError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: not valid TOML ({exc})") from None
    return data


@dataclass(frozen=True)
class UvLockSource:
    spec: EnvSpec
    root: Path
    project_name: str
    options: SyncOptions
    pyproject: dict[str, Any]
    requirements: EnvRequirements
    label: str = UV_LOCK_NAME

    @property
    def path(self) -> Path:
        return self.root / UV_LOCK_NAME

    def key_inputs(self) -> dict[str, Any]:
        meta = read_pyproject(self.root)
        dynamic = (
            meta.metadata_digest if meta.dependencies is None or meta.optional_dependencies is None else ""
        )
        inputs = project_inputs(self.pyproject, dynamic)
        return {
            "kind": "uv.lock",
            "lock": _digest(self.path),
            "pyproject": hashlib.sha256(inputs.encode()).hexdigest(),
            "sync": self.options.key_inputs(),
        }

    def prepare(self, interpreter: Interpreter) -> None:
        check = self.options.check
        if check != LockCheck.UPDATE and not self.path.is_file():
            raise LockError(
                f"env {self.spec.label}: runner = {LOCK_RUNNER} installs from uv.lock, but {self.path} does "
                "not exist; run `uv lock`"
            )
        if check != LockCheck.FROZEN:
            check_uv_lock(self.root, interpreter, update=check == LockCheck.UPDATE, env_label=self.spec.label)

    def pins(self, interpreter: Interpreter) -> Selected:
        lock = UvLock.read(self.path)
        return lock.select(lock.project(self.project_name), self.options.selection, interpreter)


@dataclass(frozen=True)
class PylockSource:
    spec: EnvSpec
    path: Path
    #: the project's name: its own ``directory`` entry is dropped (nixtox builds it from its tree)
    project_name: str | None
    #: the project's own requirements (with extras) when the env installs it: the lock must pin them
    project_requirements: tuple[str, ...]
    requirements: EnvRequirements

    @property
    def label(self) -> str:
        return f"pylock file {self.path.name}"

    def key_inputs(self) -> dict[str, Any]:
        return {
            "kind": "pylock",
            "path": self.path.name,
            "lock": _digest(self.path),
            "extras": sorted(self.spec.config.extras),
            "groups": sorted(self.spec.config.dependency_groups),
        }

    def prepare(self, interpreter: Interpreter) -> None:
        if not self.path.is_file():
            raise LockError(
                f"env {self.spec.label}: pylock file {self.spec.config.pylock!r} not found at {self.path}"
            )

    def pins(self, interpreter: Interpreter) -> Selected:
        selected = Pylock.read(self.path).select(
            interpreter,
            extras=frozenset(self.spec.config.extras),
            groups=frozenset(self.spec.config.dependency_groups),
            project=self.project_name,
        )
        self._check_covers(selected, interpreter)
        return selected

    def _check_covers(self, selected: Selected, interpreter: Interpreter) -> None:
        """tox installs the package's dependencies unpinned where the lock misses them; nixtox only
        installs pinned files, so a lock that misses one is refused."""
        pinned = {_canonical(p.name) for p in selected.packages}
        for line in self.project_requirements:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            marker = str(requirement.marker) if requirement.marker else None
            where = f"env {self.spec.label}: {self.project_name}"
            if _canonical(requirement.name) in pinned or not evaluate_marker(
                marker, interpreter, where=where
            ):
                continue
            raise LockError(
                f"env {self.spec.label}: {self.label} does not pin {requirement.name}, a dependency of "
                f"{self.project_name}; regenerate the lock with the project's dependencies"
            )


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name  # noqa: PLC0415

    return str(canonicalize_name(name))


def existing_lock(spec: EnvSpec, core: CoreConfig) -> PinSource | None:
    """The lock ``spec`` installs from (tox-uv's lock runner, tox's ``pylock``), or None: resolve."""
    config = spec.config
    if config.runner == LOCK_RUNNER:
        return _uv_lock_source(spec, core)
    if config.pylock:
        if config.deps:
            raise LockError(f"env {spec.label}: cannot use both 'deps' and 'pylock' in the same environment")
        meta = read_pyproject(core.root)
        installs = spec.installs_package and meta.static
        return PylockSource(
            spec,
            core.root / config.pylock,
            meta.name,
            meta.requirements(config.extras) if installs else (),
            EnvRequirements((), (), build_requirements(spec, core)),
        )
    return None


def _uv_lock_source(spec: EnvSpec, core: CoreConfig) -> UvLockSource:
    pyproject = _pyproject(core.root)
    name = pyproject.get("project", {}).get("name")
    if not isinstance(name, str):
        raise LockError(
            f"env {spec.label}: runner = {LOCK_RUNNER} needs a [project] table with a name in "
            f"{core.root / 'pyproject.toml'}"
        )
    groups = [*pyproject.get("dependency-groups", {})]
    if pyproject.get("tool", {}).get("uv", {}).get("dev-dependencies") and "dev" not in groups:
        groups.append("dev")  # uv's legacy [tool.uv] dev-dependencies are the group `dev`
    options = sync_options(spec, pyproject, groups)
    if spec.installs_package and not options.install_project:
        raise LockError(
            f"env {spec.label}: uv sync would leave the project out (only_groups, --only-group or "
            "--no-install-project); set `package = skip` so nixtox does not build it either"
        )
    return UvLockSource(
        spec, core.root, name, options, pyproject, EnvRequirements((), (), build_requirements(spec, core))
    )
