"""The ``nixpkgs`` provider: ``python312`` & co. from a nixpkgs, realised with ``nix-build``.

A realised attribute is cached (nixpkgs path + attribute + a stamp of the nixpkgs checkout -> out path), so a
warm run does not evaluate nixpkgs again. A nixpkgs inside /nix/store is immutable and cached for good.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nixtox._process import find_program, run_process
from nixtox.errors import NixtoxError
from nixtox.interpreters._probe import ProbeCache, ProbedInterpreter, cache_dir
from nixtox.interpreters._request import InterpreterRequest
from nixtox.nix import NixOptions, nix_options_argv

__all__ = ["NixpkgsSearch", "locate_nixpkgs", "nixpkgs_attr"]


def locate_nixpkgs(configured: str | None, root: Path) -> Path | None:
    """``nixpkgs`` from the config (a path, or ``<nixpkgs>``), else NIX_PATH's ``nixpkgs=`` entry."""
    if configured and configured != "<nixpkgs>":
        path = Path(configured).expanduser()
        return path if path.is_absolute() else root / path
    for entry in os.environ.get("NIX_PATH", "").split(":"):
        if entry.startswith("nixpkgs="):
            return Path(entry.removeprefix("nixpkgs="))
    return None


def nixpkgs_attr(request: InterpreterRequest) -> str | None:
    """``python312``, ``python313FreeThreading``, ``pypy310``, ``python3`` (newest default)."""
    base = "pypy" if request.implementation == "pypy" else "python"
    if len(request.version) >= 2:
        attr = f"{base}{request.version[0]}{request.version[1]}"
        return f"{attr}FreeThreading" if request.free_threaded else attr
    if request.free_threaded:
        return None
    if request.version in ((), (3,)):
        return f"{base}3"
    return None


def _stamp(nixpkgs: Path) -> str:
    real = os.path.realpath(nixpkgs)
    if real.startswith("/nix/store/"):
        return "store"
    stamps = []
    for path in (Path(real), Path(real) / "default.nix"):
        with contextlib.suppress(OSError):
            st = path.stat()
            stamps.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "/".join(stamps)


@dataclass
class NixpkgsSearch:
    cache: ProbeCache
    nixpkgs: Path
    #: why the attribute could not be used (for the not-found message).
    failure: str = ""

    def _realise(self, attr: str) -> Path | None:
        realised_cache = cache_dir() / "nixpkgs-interpreters.json"
        key = f"{os.path.realpath(self.nixpkgs)}#{attr}#{_stamp(self.nixpkgs)}"
        try:
            known: dict[str, str] = json.loads(realised_cache.read_text())
        except (OSError, ValueError):
            known = {}
        if key in known:
            if known[key].startswith("!"):  # a remembered failure (missing attribute)
                self.failure = known[key][1:]
                return None
            if Path(known[key]).exists():
                return Path(known[key])
        try:
            find_program("nix-build")
        except NixtoxError:
            self.failure = "nix-build not found"
            return None
        argv = ["nix-build", str(self.nixpkgs), "-A", attr, "--no-out-link", *nix_options_argv(NixOptions())]
        outcome = run_process(argv)
        if not outcome.ok:
            lines = [line.strip() for line in outcome.stderr.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("error:")] or lines[-1:]
            reason = " ".join(errors[:1] + [line for line in lines if line.startswith("Did you mean")])
            self.failure = f"nix-build -A {attr} failed: {reason or outcome.exit_code}"
            if "not found" in outcome.stderr:  # the attribute does not exist: no need to ask again
                known[key] = "!" + self.failure
                self._save(realised_cache, known)
            return None
        out = Path(outcome.stdout.split()[-1])
        known[key] = str(out)
        self._save(realised_cache, known)
        return out

    @staticmethod
    def _save(realised_cache: Path, known: dict[str, str]) -> None:
        with contextlib.suppress(OSError):
            realised_cache.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=realised_cache.parent, prefix=".nixpkgs-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                json.dump(known, handle, sort_keys=True, indent=0)
            os.replace(tmp, realised_cache)

    def find(self, request: InterpreterRequest) -> tuple[ProbedInterpreter, str, Path] | None:
        """(probed facts, attribute, executable inside the out path)."""
        attr = nixpkgs_attr(request)
        if attr is None:
            self.failure = f"no nixpkgs attribute for {request.describe()}"
            return None
        out = self._realise(attr)
        if out is None:
            return None
        for executable in self._executables(out, request):
            probed = self.cache.probe(executable)
            if probed is not None and request.matches(
                probed.implementation, probed.version, probed.free_threaded
            ):
                return probed, attr, executable
        self.failure = f"{out} has no interpreter matching {request.describe()}"
        return None

    @staticmethod
    def _executables(out: Path, request: InterpreterRequest) -> list[Path]:
        names = ["pypy3", "pypy"] if request.implementation == "pypy" else []
        if len(request.version) >= 2:
            names.insert(
                0, f"python{request.version[0]}.{request.version[1]}{'t' if request.free_threaded else ''}"
            )
        names += ["python3", "python"]
        return [out / "bin" / name for name in names if (out / "bin" / name).exists()]
