"""Build requirements of an sdist-only dependency, read from the pyproject.toml inside the sdist.

The sdist is downloaded once into the user cache (sha256 verified); the answer is cached by the sdist's
sha256, so relocking does not download it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from nixtox.errors import LockError
from nixtox.interpreters._probe import cache_dir
from nixtox.model import LockedDist
from nixtox.pyproject import DEFAULT_BUILD_BACKEND, DEFAULT_BUILD_REQUIRES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["download", "sdist_build_requirements"]

_SETUPTOOLS_BACKENDS = ("setuptools.build_meta", "setuptools.build_meta:__legacy__")


def download(dist: LockedDist, *, env_name: str) -> Path:
    """The file of ``dist`` in the download cache, fetched and verified if needed."""
    import urllib.request  # noqa: PLC0415 - only when a file must be downloaded (~15 ms import)

    target = cache_dir() / "downloads" / dist.sha256 / dist.filename
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        with urllib.request.urlopen(dist.url, timeout=60) as response, os.fdopen(fd, "wb") as out:
            for block in iter(lambda: response.read(1 << 16), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != dist.sha256:
            raise LockError(
                f"env {env_name}: {dist.filename} from {dist.url} has sha256 {digest.hexdigest()}, "
                f"expected {dist.sha256} (the index changed the file, or the lock was edited); "
                "run `nixtox lock`"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise LockError(f"env {env_name}: cannot download {dist.url}: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _pyproject_from_archive(path: Path) -> bytes | None:
    """The top-level ``*/pyproject.toml`` of an sdist, if there is one."""
    import io  # noqa: PLC0415 - archive modules only when an sdist is read
    import tarfile  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    data = path.read_bytes()
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/pyproject.toml")]
            return archive.read(names[0]) if names else None
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/pyproject.toml"):
                handle = archive.extractfile(member)
                return handle.read() if handle else None
    return None


def _requirements_from_pyproject(text: bytes | None) -> tuple[tuple[str, ...], str]:
    if text is None:
        return DEFAULT_BUILD_REQUIRES, DEFAULT_BUILD_BACKEND
    try:
        build = tomllib.loads(text.decode()).get("build-system", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return DEFAULT_BUILD_REQUIRES, DEFAULT_BUILD_BACKEND
    requires = build.get("requires")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        requires = list(DEFAULT_BUILD_REQUIRES)
    backend = build.get("build-backend", DEFAULT_BUILD_BACKEND)
    return tuple(requires), str(backend)


def sdist_build_requirements(dist: LockedDist, *, env_name: str) -> tuple[str, ...]:
    """The build requirements of an sdist (``setuptools>=40.8.0`` when it has no pyproject.toml).

    A setuptools backend also gets ``wheel``: older setuptools asks for it from
    ``get_requires_for_build_wheel``, a hook nixtox does not run at lock time.
    """
    answers = cache_dir() / "sdist-build-requires.json"
    try:
        known: dict[str, list[str]] = json.loads(answers.read_text())
    except (OSError, ValueError):
        known = {}
    if dist.sha256 in known:
        return tuple(known[dist.sha256])
    import tarfile  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    path = download(dist, env_name=env_name)
    try:
        requires, backend = _requirements_from_pyproject(_pyproject_from_archive(path))
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise LockError(f"env {env_name}: cannot read the sdist {dist.filename}: {exc}") from None
    if backend in _SETUPTOOLS_BACKENDS and not any(r.split(";")[0].strip() == "wheel" for r in requires):
        requires = (*requires, "wheel")
    known[dist.sha256] = list(requires)
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(dir=answers.parent, prefix=".sdist-")
        with os.fdopen(fd, "w") as handle:
            json.dump(known, handle, sort_keys=True, indent=0)
        os.replace(tmp, answers)
    return requires
