"""What a realised env holds, read from the store: its installed distributions and the project's package.

tox's result JSON names the package file it installed (``installpkg``: basename, sha256) and lists
``pip freeze`` (``installed_packages``). nixtox's env derivation records what it installed in
``$out/nix-support/nixtox-env.json``; the package file is in the output of the project's build, found
through the env's derivation (its install layers' ``wheelsJson`` name the dists that were built). Only
local files are read, no Nix call; whatever cannot be read is None.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nixtox.model import RealisedEnv

__all__ = ["PackageFile", "installed_dists", "package_file"]

_INPUT_DRV = re.compile(r'\("(/[^"]+\.drv)",\[')
_WHEELS_JSON = re.compile(r'\("wheelsJson","((?:[^"\\]|\\.)*)"\)')
_ATERM_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class PackageFile:
    """The project's package as the env installed it."""

    name: str
    version: str
    #: the sdist or wheel file in the store (for format ``editable``: the editable wheel)
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def installed_dists(realised: RealisedEnv) -> list[tuple[str, str]] | None:
    """(name, version) of every distribution the env's store path holds, or None when unreadable."""
    data = _json(realised.store_path / "nix-support" / "nixtox-env.json")
    if not isinstance(data, dict) or not isinstance(data.get("dists"), list):
        return None
    dists = [(str(d.get("name")), str(d.get("version"))) for d in data["dists"] if isinstance(d, dict)]
    return sorted(dists, key=lambda d: d[0].lower())


def _aterm_string(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ATERM_ESCAPES.get(m[1], m[1]), text)


def _built_dists(env_drv: Path) -> Iterator[Path]:
    """Output paths of the dists the env's layers install that were built (not fetched as wheels)."""
    try:
        inputs = _INPUT_DRV.findall(env_drv.read_text(encoding="utf-8"))
    except OSError:
        return
    for drv in inputs:
        if drv.endswith(".whl.drv"):  # a fetched wheel, never the project
            continue
        try:
            found = _WHEELS_JSON.search(Path(drv).read_text(encoding="utf-8"))
        except OSError:
            continue
        entries = json.loads(_aterm_string(found[1])) if found else []
        for entry in entries:
            if isinstance(entry, dict) and entry.get("filename") is None and entry.get("path"):
                yield Path(entry["path"])


def _package_in(build: Path, fmt: str) -> PackageFile | None:
    meta = _json(build / "nix-support" / "nixtox-dist.json")
    if not isinstance(meta, dict):
        return None
    filename = meta.get("sdist") if fmt == "sdist" and meta.get("sdist") else meta.get("wheel")
    if not filename or not (build / str(filename)).is_file():
        return None
    return PackageFile(str(meta.get("name")), str(meta.get("version")), build / str(filename))


def package_file(realised: RealisedEnv) -> PackageFile | None:
    """The project's sdist or wheel that this env installed; None for ``skip`` or when not found."""
    spec = realised.rendered.locked.spec
    if spec.package_format == "skip" or spec.config.skip_install:
        return None
    if realised.drv_path is None:
        return None
    locked = {normalize(d.name) for d in realised.rendered.locked.dists}
    for build in _built_dists(Path(realised.drv_path)):
        found = _package_in(build, spec.package_format)
        if found is not None and normalize(found.name) not in locked:
            return found
    return None
