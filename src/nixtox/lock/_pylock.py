"""PEP 751 ``pylock.toml``: read one for tox's ``pylock`` key, and write nixtox's own pins as one.

Reading follows tox (``tox_env/python/pylock.py``): a package is installed when its ``marker`` holds
(evaluated in the ``lock_file`` context, with the env's ``extras`` and ``dependency_groups``, or the
lock's ``default-groups`` when the env names none) and its ``requires-python`` admits the interpreter.
As PEP 751 asks of installers, a lock whose ``requires-python`` or ``environments`` exclude the
interpreter, or that selects two entries of one name, is refused. The project's own ``directory`` entry
is dropped (nixtox builds the project from its tree); other directory, VCS or path-only entries are
refused: nixtox fetches every package from a URL with its sha256.

Writing (``pylock_text``) gives a file ``pip install -r``, ``uv pip install -r`` and tox's ``pylock``
key install from: the env's runtime packages, each with the one file nixtox chose, and
``environments`` naming the interpreter the pins are for.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nixtox.errors import LockError
from nixtox.lock._files import DistFile, ResolvedPackage, filename_of
from nixtox.lock._lockfile import _string
from nixtox.lock._markers import evaluate_marker, python_allows
from nixtox.lock._requirements import interpreter_series
from nixtox.lock._uvlock import Selected
from nixtox.model import DistKind, Interpreter, LockedDist, LockedEnv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["Pylock", "PylockPackage", "environment_marker", "export_pylocks", "pylock_name", "pylock_text"]

_NAME = re.compile(r"^pylock\.([^.]+)\.toml$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _Malformed(Exception):
    pass


@dataclass(frozen=True)
class PylockPackage:
    name: str
    version: str | None
    marker: str | None
    requires_python: str | None
    files: tuple[DistFile, ...]
    #: ``directory``, ``vcs`` or ``path`` when the package is not fetched from a URL
    local: str | None = None


@dataclass(frozen=True)
class Pylock:
    path: Path
    digest: str
    requires_python: str | None
    environments: tuple[str, ...]
    default_groups: tuple[str, ...]
    packages: tuple[PylockPackage, ...]

    @classmethod
    def read(cls, path: Path) -> Pylock:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LockError(f"pylock file {path} cannot be read: {exc.strerror}") from None
        try:
            parsed = tomllib.loads(data.decode("utf-8-sig"))
            version = parsed.get("lock-version")
            if not isinstance(version, str) or version.split(".")[0] != "1":
                raise _Malformed(f"lock-version {version!r} is not 1.x")
            packages = tuple(_package(item, index) for index, item in enumerate(_tables(parsed, "packages")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, _Malformed) as exc:
            raise LockError(f"invalid pylock file {path}: {exc}") from None
        return cls(
            path,
            hashlib.sha256(data).hexdigest(),
            _optional_str(parsed, "requires-python"),
            _strs(parsed, "environments"),
            _strs(parsed, "default-groups"),
            packages,
        )

    def select(
        self, interpreter: Interpreter, *, extras: Set[str], groups: Set[str], project: str | None
    ) -> Selected:
        """The packages of this lock the interpreter installs (the project's own entry left out)."""
        full = dict(interpreter.marker_env).get("python_full_version", "")
        where = f"pylock file {self.path}"
        if full and not python_allows(self.requires_python, full, where=where):
            raise LockError(f"{where}: requires-python {self.requires_python} excludes Python {full}")
        if self.environments and not any(
            evaluate_marker(m, interpreter, where=where) for m in self.environments
        ):
            raise LockError(
                f"{where}: none of its environments ({'; '.join(self.environments)}) is this interpreter's"
            )
        active_groups = frozenset(groups or self.default_groups)
        markers: list[str] = list(self.environments)
        specifiers: list[str] = [self.requires_python] if self.requires_python else []
        chosen: dict[str, ResolvedPackage] = {}
        for package in self.packages:
            markers += [package.marker] if package.marker else []
            specifiers += [package.requires_python] if package.requires_python else []
            if not evaluate_marker(
                package.marker, interpreter, where=f"{where}: {package.name}", extras=frozenset(extras),
                groups=active_groups, lock_file=True,
            ):  # fmt: skip
                continue
            if full and not python_allows(package.requires_python, full, where=f"{where}: {package.name}"):
                continue
            name = _normalize(package.name)
            if project is not None and name == _normalize(project) and package.local == "directory":
                continue
            if package.local is not None or not package.files or package.version is None:
                raise LockError(
                    f"{where}: {package.name} is a {package.local or 'file-less'} entry; nixtox installs "
                    "packages from a URL with a sha256 (and the project itself from its tree)"
                )
            if name in chosen:
                raise LockError(f"{where}: two entries of {package.name} apply to this interpreter")
            chosen[name] = ResolvedPackage(package.name, package.version, package.files)
        return Selected(tuple(chosen.values()), tuple(markers), tuple(specifiers))


# --- reading ---------------------------------------------------------------------------------------------


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Malformed(f"{key} must be an array of tables")
    return value


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _Malformed(f"{key} must be a string")
    return value


def _strs(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Malformed(f"{key} must be an array of strings")
    return tuple(value)


def _file(item: object, where: str) -> DistFile | None:
    if not isinstance(item, dict):
        raise _Malformed(f"{where} must be a table")
    url = item.get("url")
    if not isinstance(url, str):
        return None  # a ``path`` file: local, not fetchable
    hashes = item.get("hashes")
    sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise _Malformed(f"{where}: {filename_of(url)} needs hashes.sha256 (nixtox fetches by sha256)")
    size = item.get("size")
    return DistFile(
        url=url,
        sha256=sha256.lower(),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        filename=str(item.get("name") or ""),
    )


def _package(item: dict[str, Any], index: int) -> PylockPackage:
    name = item.get("name")
    if not isinstance(name, str):
        raise _Malformed(f"packages[{index}] needs a name")
    where = f"package {name}"
    local: str | None = next((kind for kind in ("directory", "vcs") if kind in item), None)
    files: list[DistFile | None] = []
    if "archive" in item:
        files.append(_file(item["archive"], f"{where} archive"))
    wheels = item.get("wheels", [])
    if not isinstance(wheels, list):
        raise _Malformed(f"{where}: wheels must be an array of tables")
    files += [_file(wheel, f"{where} wheel") for wheel in wheels]
    if "sdist" in item:
        files.append(_file(item["sdist"], f"{where} sdist"))
    fetchable = tuple(f for f in files if f is not None)
    if local is None and files and not fetchable:
        local = "path"
    return PylockPackage(
        name=name,
        version=_optional_str(item, "version"),
        marker=_optional_str(item, "marker"),
        requires_python=_optional_str(item, "requires-python"),
        files=fetchable,
        local=local,
    )


# --- writing ---------------------------------------------------------------------------------------------


def pylock_name(env_key: str) -> str:
    """PEP 751's name for a named lock: ``pylock.<name>.toml`` (the name has no dots)."""
    name = env_key.replace(".", "_")
    assert _NAME.match(f"pylock.{name}.toml"), name
    return f"pylock.{name}.toml"


def environment_marker(interpreter: Interpreter, *, full_version: bool) -> str:
    """The interpreter the pins are for: implementation, Python version (``python_full_version`` when
    the lock depends on the patch release), platform and machine."""
    env = dict(interpreter.marker_env)
    version = (
        f"python_full_version == {_quote(env.get('python_full_version', ''))}"
        if full_version
        else f"python_version == {_quote(interpreter.major_minor)}"
    )
    parts = [
        f"implementation_name == {_quote(env.get('implementation_name', interpreter.implementation))}",
        version,
    ]
    parts += [f"{key} == {_quote(env[key])}" for key in ("sys_platform", "platform_machine") if env.get(key)]
    return " and ".join(parts)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "") + "'"


def _file_table(dist: LockedDist) -> str:
    size = f", size = {dist.size}" if dist.size is not None else ""
    return (
        f"{{ name = {_string(dist.filename)}, url = {_string(dist.url)}{size}, "
        f"hashes = {{ sha256 = {_string(dist.sha256)} }} }}"
    )


def pylock_text(locked: LockedEnv, *, full_version: bool) -> str:
    """``locked``'s runtime packages as a PEP 751 lock (sorted, deterministic)."""
    lines = [
        f"# Generated by `nixtox lock --export-pylock` for env {locked.spec.label}.\n",
        'lock-version = "1.0"\n',
        f"environments = [{_string(environment_marker(locked.interpreter, full_version=full_version))}]\n",
        'created-by = "nixtox"\n',
    ]
    for dist in sorted(locked.dists, key=lambda d: (_normalize(d.name), d.version)):
        lines += [
            "\n[[packages]]\n",
            f"name = {_string(dist.name)}\n",
            f"version = {_string(dist.version)}\n",
        ]
        if dist.kind == DistKind.SDIST:
            lines.append(f"sdist = {_file_table(dist)}\n")
        else:
            lines.append(f"wheels = [{_file_table(dist)}]\n")
    lines += [
        "\n[tool.nixtox]\n",
        f"env = {_string(locked.spec.key)}\n",
        f"lock-key = {_string(locked.lock_key)}\n",
    ]
    return "".join(lines)


def export_pylocks(envs: Sequence[LockedEnv], root: Path, output: Path | None = None) -> list[Path]:
    """Write each env's ``pylock.<env>.toml`` in ``root`` (or the one env's to ``output``)."""
    if output is not None and len(envs) != 1:
        raise LockError(f"--output names one file, but {len(envs)} envs were selected; pick one with -e ENV")
    written = []
    for locked in envs:
        full_version = bool(locked.lock_interpreter) and locked.lock_interpreter != interpreter_series(
            locked.interpreter
        )
        target = output if output is not None else root / pylock_name(locked.spec.key)
        _write_atomic(target, pylock_text(locked, full_version=full_version))
        written.append(target)
    return written


def _write_atomic(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    except OSError as exc:
        raise LockError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
