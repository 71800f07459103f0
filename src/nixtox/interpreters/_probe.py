"""Probe an interpreter once, cache the facts, and derive its wheel tags and fingerprint.

The probe is a tiny stdlib script that runs under Python 2.7 too (so an old interpreter is reported as
"too old" rather than "broken"). Wheel tags are computed here, in the nixtox process, from the probed facts:
the target does not need ``packaging``. Facts are cached per (realpath, size, mtime_ns) in the user cache
dir, so a warm resolve costs a few ``stat`` calls and no subprocess.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import packaging
from packaging import tags as ptags

from nixtox._process import run_process

__all__ = ["ProbeCache", "ProbedInterpreter", "cache_dir", "compute_tags"]

#: bump when the probe script or the cached fields change.
_PROBE_VERSION = 3

_PROBE_SCRIPT = r"""
import json, os, platform, sys, sysconfig
impl = sys.implementation.name if hasattr(sys, "implementation") else "cpython"
info = sys.version_info
def cv(name):
    value = sysconfig.get_config_var(name)
    return value if value is None or isinstance(value, (int, str)) else str(value)
iver = sys.implementation.version if hasattr(sys, "implementation") else info
def fmt(v):
    s = "%d.%d.%d" % (v[0], v[1], v[2])
    if v[3] != "final":
        s += v[3][0] + str(v[4])
    return s
markers = {
    "implementation_name": impl,
    "implementation_version": fmt(iver),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
print(json.dumps({
    "implementation": impl,
    "version": [info[0], info[1], info[2]],
    "releaselevel": info[3],
    "abiflags": getattr(sys, "abiflags", ""),
    "free_threaded": bool(cv("Py_GIL_DISABLED")),
    "executable": os.path.realpath(sys.executable),
    "libdir": cv("LIBDIR"),
    "ldlibrary": cv("LDLIBRARY"),
    "shared": bool(cv("Py_ENABLE_SHARED")),
    "soabi": cv("SOABI"),
    "markers": markers,
}))
"""


def cache_dir() -> Path:
    """nixtox's user cache dir (``NIXTOX_CACHE_DIR`` overrides it)."""
    override = os.environ.get("NIXTOX_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs  # noqa: PLC0415 - only needed when no override is set

    return Path(platformdirs.user_cache_dir("nixtox"))


@dataclass(frozen=True)
class ProbedInterpreter:
    """What one probe found out (plus the derived fingerprint and tags)."""

    implementation: str
    version: tuple[int, int, int]
    releaselevel: str
    free_threaded: bool
    abiflags: str
    soabi: str | None
    executable: str
    fingerprint: str
    markers: tuple[tuple[str, str], ...]

    def tags(self) -> tuple[str, ...]:
        return _cached_tags(
            self.implementation,
            self.version,
            abiflags=self.abiflags,
            free_threaded=self.free_threaded,
            soabi=self.soabi,
        )

    def describe(self) -> str:
        version = ".".join(map(str, self.version))
        return f"{self.implementation} {version}{'t' if self.free_threaded else ''} ({self.executable})"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpython(facts: dict[str, Any]) -> Path | None:
    if not facts.get("shared") or not facts.get("libdir") or not facts.get("ldlibrary"):
        return None
    path = Path(facts["libdir"]) / facts["ldlibrary"]
    return path if path.is_file() else None


def _fingerprint(facts: dict[str, Any], binary: Path) -> str:
    digest = hashlib.sha256()
    version = ".".join(map(str, facts["version"])) + facts["releaselevel"]
    for part in (facts["implementation"], version, _sha256_file(binary)):
        digest.update(part.encode() + b"\0")
    lib = _libpython(facts)
    if lib is not None:
        digest.update(_sha256_file(lib).encode())
    return digest.hexdigest()


def compute_tags(
    implementation: str,
    version: tuple[int, int, int],
    *,
    abiflags: str = "",
    free_threaded: bool = False,
    soabi: str | None = None,
    platforms: list[str] | None = None,
) -> tuple[str, ...]:
    """Supported wheel tags, most preferred first, for an interpreter running on this machine."""
    plats = list(platforms if platforms is not None else _platform_tags())
    major_minor = (version[0], version[1])
    nodot = f"{version[0]}{version[1]}"
    if implementation == "cpython":
        flags = abiflags.replace("t", "") + ("t" if free_threaded else "")
        found = [*ptags.cpython_tags(major_minor, [f"cp{nodot}{flags}"], plats)]
        found += ptags.compatible_tags(major_minor, f"cp{nodot}", plats)
    else:
        short = "pp" if implementation == "pypy" else implementation
        # SOABI "pypy310-pp73-x86_64-linux-gnu" -> ABI tag "pypy310_pp73" (as packaging derives it)
        abi = "_".join((soabi or "").split("-")[:2]).replace(".", "_")
        found = [*ptags.generic_tags(f"{short}{nodot}", [abi] if abi else [], plats)]
        found += ptags.compatible_tags(major_minor, f"{short}{nodot}", plats)
    return tuple(dict.fromkeys(str(tag) for tag in found))


@functools.lru_cache(maxsize=64)
def _cached_tags(
    implementation: str,
    version: tuple[int, int, int],
    *,
    abiflags: str,
    free_threaded: bool,
    soabi: str | None,
) -> tuple[str, ...]:
    return compute_tags(implementation, version, abiflags=abiflags, free_threaded=free_threaded, soabi=soabi)


@functools.lru_cache(maxsize=1)
def _platform_tags() -> tuple[str, ...]:
    return tuple(ptags.platform_tags())


def _from_facts(facts: dict[str, Any], fingerprint: str) -> ProbedInterpreter:
    version = (int(facts["version"][0]), int(facts["version"][1]), int(facts["version"][2]))
    return ProbedInterpreter(
        implementation=facts["implementation"],
        version=version,
        releaselevel=facts["releaselevel"],
        free_threaded=bool(facts.get("free_threaded")),
        abiflags=facts.get("abiflags") or "",
        soabi=facts.get("soabi"),
        executable=facts["executable"],
        fingerprint=fingerprint,
        markers=tuple(sorted((str(k), str(v)) for k, v in facts["markers"].items())),
    )


def _stat_key(realpath: str) -> str | None:
    try:
        st = os.stat(realpath)
    except OSError:
        return None
    return f"{realpath}:{st.st_size}:{st.st_mtime_ns}"


class ProbeCache:
    """Probe results on disk, keyed by (realpath, size, mtime_ns) of the binary.

    Entries also remember libpython's stat, so a rebuilt shared library invalidates them.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "interpreters.json"
        self._entries: dict[str, Any] | None = None
        self._dirty = False
        self._memo: dict[str, ProbedInterpreter | None] = {}

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text())
                valid = (
                    data.get("version") == _PROBE_VERSION and data.get("packaging") == packaging.__version__
                )
                self._entries = data["entries"] if valid else {}
            except (OSError, ValueError, KeyError, AttributeError):
                self._entries = {}
        return self._entries

    def probe(self, executable: str | os.PathLike[str]) -> ProbedInterpreter | None:
        """The facts of ``executable``, or None when it is not a runnable Python."""
        realpath = os.path.realpath(executable)
        key = _stat_key(realpath)
        if key is None:
            return None
        if key in self._memo:
            return self._memo[key]
        entries = self._load()
        entry = entries.get(key)
        result: ProbedInterpreter | None
        if entry is not None and self._lib_unchanged(entry):
            result = None if entry.get("broken") else self._rebuild(entry)
        else:
            result = self._probe_now(realpath, key)
        self._memo[key] = result
        return result

    @staticmethod
    def _lib_unchanged(entry: dict[str, Any]) -> bool:
        lib = entry.get("libkey")
        return lib is None or _stat_key(lib.rsplit(":", 2)[0]) == lib

    def _rebuild(self, entry: dict[str, Any]) -> ProbedInterpreter:
        return _from_facts(entry["facts"], entry["fingerprint"])

    def _probe_now(self, realpath: str, key: str) -> ProbedInterpreter | None:
        entries = self._load()
        outcome = run_process([realpath, "-E", "-s", "-c", _PROBE_SCRIPT], check_program=False)
        try:
            facts = json.loads(outcome.stdout) if outcome.ok else None
        except ValueError:
            facts = None
        if not isinstance(facts, dict):
            entries[key] = {"broken": True}
            self._dirty = True
            return None
        fingerprint = _fingerprint(facts, Path(realpath))
        lib = _libpython(facts)
        entries[key] = {
            "facts": facts,
            "fingerprint": fingerprint,
            "libkey": _stat_key(os.path.realpath(lib)) if lib else None,
        }
        self._dirty = True
        return _from_facts(facts, fingerprint)

    def save(self) -> None:
        """Write the cache atomically if a probe added to it (best effort: a read-only cache is fine)."""
        if not self._dirty or self._entries is None:
            return
        data = {"version": _PROBE_VERSION, "packaging": packaging.__version__, "entries": self._entries}
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".interpreters-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, sort_keys=True)
            os.replace(tmp, self.path)
            self._dirty = False
