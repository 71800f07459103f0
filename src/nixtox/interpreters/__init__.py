"""Turn an interpreter request (``py312``, ``3.12``, ``pypy310``, a path, None) into an ``Interpreter``.

Providers are tried in ``core.interpreter_providers`` order (``host``, ``nixpkgs``); the first that can
satisfy the request wins. A miss raises ``InterpreterNotFound`` naming every place that was searched.
"""

from __future__ import annotations

from pathlib import Path

from nixtox.errors import InterpreterNotFound
from nixtox.interpreters._host import MIN_VERSION, HostSearch, host_search_dirs
from nixtox.interpreters._nixpkgs import NixpkgsSearch, locate_nixpkgs, nixpkgs_attr
from nixtox.interpreters._probe import ProbeCache, ProbedInterpreter, compute_tags
from nixtox.interpreters._request import InterpreterRequest, parse_request
from nixtox.interpreters._store import InterpreterStore, NixInterpreterStore, import_interpreter
from nixtox.model import CoreConfig, EnvSpec, Interpreter

__all__ = [
    "MIN_VERSION",
    "InterpreterRequest",
    "InterpreterStore",
    "NixInterpreterStore",
    "ProbeCache",
    "compute_tags",
    "env_interpreters",
    "import_interpreter",
    "nixpkgs_attr",
    "parse_request",
    "resolve_interpreter",
]

_shared_cache: ProbeCache | None = None


def _default_cache() -> ProbeCache:
    global _shared_cache  # noqa: PLW0603 - one probe cache per process, shared by every env
    if _shared_cache is None:
        _shared_cache = ProbeCache()
    return _shared_cache


def _interpreter(
    probed: ProbedInterpreter,
    request: str | None,
    *,
    executable: Path | None = None,
    provider: str = "host",
    nix_attr: str | None = None,
    nixpkgs: str | None = None,
) -> Interpreter:
    return Interpreter(
        request=request,
        implementation=probed.implementation,
        version=probed.version,
        executable=executable or Path(probed.executable),
        fingerprint=probed.fingerprint,
        provider=provider,
        nix_attr=nix_attr,
        nixpkgs=nixpkgs,
        free_threaded=probed.free_threaded,
        tags=probed.tags(),
        marker_env=probed.markers,
    )


def _versions(found: list[ProbedInterpreter]) -> str:
    unique = sorted({(p.implementation, p.version) for p in found})
    return ", ".join(f"{impl} {'.'.join(map(str, version))}" for impl, version in unique)


def resolve_interpreter(
    request: str | None, core: CoreConfig, *, env_name: str, cache: ProbeCache | None = None
) -> Interpreter:
    """The interpreter for ``request`` (None, ``py``: the newest CPython 3.8+ found)."""
    parsed = parse_request(request)
    if parsed is None:
        raise InterpreterNotFound(
            f"env {env_name}: {request!r} is not an interpreter request "
            "(use py312, 3.12, cpython3.12, pypy310, py313t, or an absolute path)"
        )
    probe_cache = cache or _default_cache()
    searched: list[str] = []
    rejected: list[str] = []
    try:
        for provider in core.interpreter_providers:
            if provider == "host":
                host = HostSearch(probe_cache)
                found = host.find(parsed)
                if found is not None:
                    return _interpreter(found, request)
                where = [str(parsed.path)] if parsed.path else [label for label, _ in host_search_dirs()]
                searched.append(f"host ({', '.join(where)})")
                if host.too_old:
                    too_old = _versions(host.too_old)
                    rejected.append(f"too old (nixtox needs {MIN_VERSION[0]}.{MIN_VERSION[1]}+): {too_old}")
                if host.other and parsed.path is None:
                    rejected.append(f"found but not matching: {_versions(host.other)}")
            elif provider == "nixpkgs":
                nixpkgs = locate_nixpkgs(core.nixpkgs, core.root)
                if nixpkgs is None:
                    searched.append("nixpkgs (not configured: set nixpkgs = PATH or NIX_PATH=nixpkgs=PATH)")
                    continue
                search = NixpkgsSearch(probe_cache, nixpkgs)
                hit = search.find(parsed) if parsed.path is None else None
                if hit is not None and hit[0].version[:2] >= MIN_VERSION:
                    probed, attr, executable = hit
                    return _interpreter(
                        probed,
                        request,
                        executable=executable,
                        provider="nixpkgs",
                        nix_attr=attr,
                        nixpkgs=str(nixpkgs),
                    )
                searched.append(f"nixpkgs {nixpkgs} ({search.failure or 'too old'})")
            else:
                searched.append(f"{provider} (unknown provider; known: host, nixpkgs)")
    finally:
        probe_cache.save()
    detail = "; ".join([f"searched {'; '.join(searched)}", *rejected])
    # advise the setting only to whom it would help: with it set, the env is skipped already
    skip = "" if core.skip_missing_interpreters else " or set skip_missing_interpreters = true"
    raise InterpreterNotFound(
        f"env {env_name}: no interpreter for {request or 'py'} ({parsed.describe()}): {detail}. "
        f"Install it (e.g. `uv python install`, pyenv){skip}"
    )


def env_interpreters(
    spec: EnvSpec, core: CoreConfig, memo: dict[str | None, Interpreter] | None = None
) -> tuple[Interpreter, Interpreter | None]:
    """(the env's interpreter, the one that builds its package when ``spec.build_python`` names
    another); ``memo`` shares resolutions between the envs of one run."""
    memo = {} if memo is None else memo

    def one(request: str | None) -> Interpreter:
        if request not in memo:
            memo[request] = resolve_interpreter(request, core, env_name=spec.label)
        return memo[request]

    return one(spec.python), (one(spec.build_python) if spec.build_python else None)
