"""What ``nixtox cache keygen|push|verify|status`` do, on envs given as store paths and derivations."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nixtox._roots import temporary_roots
from nixtox.errors import NixError, NixtoxError

from ._nix import CacheBackend, DryRun
from ._report import untrusted_in_caches
from ._settings import CacheSettings

__all__ = [
    "EnvPaths",
    "EnvStatus",
    "EnvVerdict",
    "KeyPair",
    "PushResult",
    "env_status",
    "keygen",
    "push_envs",
    "push_target",
    "verify_envs",
]


@dataclass(frozen=True)
class EnvPaths:
    """One env as the cache commands see it."""

    label: str
    #: the env's output path (None: not known)
    store_path: str | None
    drv_path: str | None


@dataclass(frozen=True)
class KeyPair:
    secret_file: Path
    public_file: Path
    public_key: str

    def config_lines(self, push_to: str = "file:///path/to/cache") -> str:
        return (
            "# pyproject.toml\n"
            "[tool.nixtox.cache]\n"
            f'substituters = ["{push_to}"]\n'
            f'trusted_public_keys = ["{self.public_key}"]\n'
            f'push_to = "{push_to}"\n'
            f'secret_key_file = "{self.secret_file}"  # keep it out of version control\n'
        )


def keygen(backend: CacheBackend, name: str, directory: Path) -> KeyPair:
    """``NAME.sec`` / ``NAME.pub`` in ``directory``; refuses to overwrite an existing key."""
    directory.mkdir(parents=True, exist_ok=True)
    base = name.split(":", 1)[0]
    secret, public = directory / f"{base}.sec", directory / f"{base}.pub"
    for existing in (secret, public):
        if existing.exists():
            raise NixtoxError(
                f"{existing} exists; remove it or choose another NAME/--dir (keys are never overwritten)"
            )
    backend.generate_key(name, secret, public)
    secret.chmod(0o600)
    return KeyPair(secret, public, public.read_text(encoding="utf-8").strip())


def push_target(settings: CacheSettings, to: str | None = None) -> tuple[str, Path]:
    """(cache URL, secret key file) for a push, or a NixtoxError saying what is missing."""
    url = to or settings.push_to
    if not url:
        raise NixtoxError(
            'nowhere to push: set push_to (`[tool.nixtox.cache] push_to = "file:///srv/cache"`), '
            "$NIXTOX_PUSH_TO, or pass --to URL"
        )
    key = settings.secret_key_file
    if key is None:
        raise NixtoxError(
            f"cannot push to {url}: no secret key to sign with. Create one with `nixtox cache keygen NAME`, "
            "then set "
            "secret_key_file (config) or $NIXTOX_SECRET_KEY_FILE. nixtox never pushes unsigned paths."
        )
    if not key.is_file():
        origin = settings.origins.get("secret_key_file", "config")
        raise NixtoxError(
            f"cannot push to {url}: secret key file {key} (from {origin}) does not exist; "
            "create it with `nixtox cache keygen NAME` or fix the path"
        )
    return url, key


@dataclass(frozen=True)
class PushSet:
    #: the env outputs and every valid build output they came from (wheels, built dists)
    roots: tuple[str, ...]
    #: the closure of ``roots``: everything the cache ends up holding for these envs
    closure: tuple[str, ...]
    #: build outputs no longer in the local store (garbage-collected): not pushed
    missing: tuple[str, ...] = ()


def push_set(backend: CacheBackend, envs: Sequence[EnvPaths], roots: Path) -> PushSet:
    """The envs' runtime closures plus their build-time outputs (fetched wheels, built dists), all held by
    GC roots in ``roots`` until the caller is done with them."""
    outs = [e.store_path for e in envs if e.store_path]
    drvs = [e.drv_path for e in envs if e.drv_path]
    input_drvs = [p for p in backend.closure(drvs) if p.endswith(".drv")]
    build_outputs = backend.outputs(input_drvs)
    # an env's runtime closure does not keep the wheels it was built from, so a collection may have
    # removed them (or may remove them while the push runs): fetch or build them again and root them
    # in the same call, so the cache can serve a machine that must build
    if not backend.realise(input_drvs, root=roots / "inputs").ok:
        # Nix roots nothing when one build failed: root what is there, report the rest as missing
        backend.realise(backend.valid_paths([*outs, *build_outputs]), root=roots / "valid")
    valid = set(backend.valid_paths(build_outputs))
    missing = tuple(p for p in build_outputs if p not in valid)
    to_copy = tuple(dict.fromkeys([*outs, *(p for p in build_outputs if p in valid)]))
    return PushSet(to_copy, tuple(backend.closure(list(to_copy))), missing)


@dataclass(frozen=True)
class PushResult:
    url: str
    pushed: tuple[str, ...]
    already: tuple[str, ...]
    missing: tuple[str, ...]


def push_envs(
    backend: CacheBackend, settings: CacheSettings, envs: Sequence[EnvPaths], *, to: str | None = None
) -> PushResult:
    url, key = push_target(settings, to)
    with temporary_roots() as roots:
        paths = push_set(backend, envs, roots)
        # a path written to after its build (as root without a daemon the store is writable to anything
        # that is not a test command) would reach the cache with a NAR that no longer matches its hash,
        # and every pull of it would fail: check the whole closure, not only the env roots
        if modified := backend.modified_paths(list(paths.closure)):
            shown = ", ".join(modified[:5]) + (f" and {len(modified) - 5} more" if len(modified) > 5 else "")
            raise NixtoxError(
                f"refusing to push {shown}: modified after it was built (its content no longer matches the"
                " hash Nix registered); repair it with `nix-store --repair-path PATH` (or `nix-store"
                " --verify --check-contents --repair`) and push again"
            )
        try:
            before = backend.path_info(url, list(paths.closure))
        except NixError:
            before = {}
        already = tuple(p for p in paths.closure if p in before and before[p].valid)
        backend.copy_to(url, list(paths.roots), key)
    pushed = tuple(p for p in paths.closure if p not in set(already))
    return PushResult(url, pushed, already, paths.missing)


@dataclass(frozen=True)
class EnvVerdict:
    label: str
    checked: int
    missing: tuple[str, ...] = ()
    #: path -> names of the keys that signed it (none of them trusted)
    untrusted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    modified: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    error: str = ""
    #: path -> trusted keys whose signature on it does not verify (its .narinfo was edited after signing)
    bad_signatures: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.untrusted or self.modified or self.error or self.bad_signatures)


def paths_to_check(backend: CacheBackend, env: EnvPaths) -> list[str]:
    """The env output, its runtime closure (when local) and the outputs of every derivation it came from."""
    drv_closure = backend.closure([env.drv_path]) if env.drv_path else []
    outputs = backend.outputs([p for p in drv_closure if p.endswith(".drv")])
    runtime: list[str] = []
    if env.store_path and backend.valid_paths([env.store_path]):
        runtime = backend.closure([env.store_path])
    elif env.store_path:
        runtime = [env.store_path]
    return list(dict.fromkeys([*runtime, *outputs]))


def verify_envs(
    backend: CacheBackend, settings: CacheSettings, envs: Sequence[EnvPaths], *, cache_url: str
) -> list[EnvVerdict]:
    """Per env: every path present in ``cache_url``, signed by a trusted key, its NAR matching its hash."""
    verdicts: list[EnvVerdict] = []
    for env in envs:
        if not env.drv_path and not env.store_path:
            verdicts.append(EnvVerdict(env.label, 0, error="nixtox could not evaluate this env"))
            continue
        paths = paths_to_check(backend, env)
        infos = backend.path_info(cache_url, paths)
        missing = tuple(p for p in paths if p not in infos or not infos[p].valid)
        present = [p for p in paths if p not in missing]
        refused = untrusted_in_caches(present, {cache_url: infos}, settings.trusted_key_names)
        report = backend.verify_in(cache_url, present, settings.trusted_public_keys)
        untrusted = {p: signers for p, (_, signers) in refused.items()}
        bad: dict[str, tuple[str, ...]] = {}
        for path in report.untrusted:
            signers = infos[path].signers if path in infos else ()
            if trusted_signers := tuple(k for k in signers if k in settings.trusted_key_names):
                bad[path] = trusted_signers  # signed by a trusted key, yet Nix rejects the signature
            else:
                untrusted.setdefault(path, signers)
        verdicts.append(
            EnvVerdict(env.label, len(paths), missing, untrusted, dict(report.modified), report.other, bad)
        )
    return verdicts


@dataclass(frozen=True)
class EnvStatus:
    label: str
    #: "local" | "in cache" | "must build" | "unknown"
    state: str
    detail: str = ""


def env_status(
    label: str,
    dry: DryRun | None,
    *,
    local: bool,
    untrusted: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
) -> EnvStatus:
    if local:
        return EnvStatus(label, "local", "in the Nix store")
    if dry is None:
        return EnvStatus(label, "unknown", "could not be evaluated")
    refused = {p: untrusted[p] for p in dry.will_fetch if untrusted and p in untrusted}
    if dry.will_build or refused:
        parts = []
        if dry.will_build:
            parts.append(f"{len(dry.will_build)} derivation(s) to build")
        if len(dry.will_fetch) > len(refused):
            parts.append(f"{len(dry.will_fetch) - len(refused)} path(s) from the cache")
        if refused:
            signers = sorted({name for _, names in refused.values() for name in names})
            by = f"signed by {', '.join(signers)}" if signers else "unsigned"
            parts.append(f"{len(refused)} cached path(s) refused: {by}, not a trusted key")
        return EnvStatus(label, "must build", "; ".join(parts))
    if dry.will_fetch:
        return EnvStatus(label, "in cache", f"{len(dry.will_fetch)} path(s) to fetch, nothing to build")
    return EnvStatus(label, "local", "in the Nix store")


Notify = Callable[[str], None]
