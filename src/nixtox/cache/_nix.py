"""The Nix calls binary caches need (dry-run, copy, path-info, verify, keygen) and parsers of their output.

``RealCacheNix`` is ``RealNix`` plus these calls; ``CacheBackend`` is the protocol the rest of
``nixtox.cache`` programs against, so unit tests use a fake. Parsers are pure functions of Nix 2.8's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nixtox._process import run_process
from nixtox.errors import NixError
from nixtox.nix import NixBackend, RealNix, _nix_env, nix_options_argv

__all__ = [
    "CacheBackend",
    "DryRun",
    "PathInfo",
    "RealCacheNix",
    "Transfer",
    "VerifyReport",
    "parse_dry_run",
    "parse_transfer",
    "parse_verify",
]

_NIX_COMMAND = ("--option", "experimental-features", "nix-command")
#: caches Nix writes through a ``BinaryCacheStore``: they sign with ``?secret-key=`` while copying.
BINARY_CACHE_SCHEMES = ("file", "http", "https", "s3")


@dataclass(frozen=True)
class DryRun:
    """What ``nix-store --realise --dry-run`` says a realisation would do."""

    will_build: tuple[str, ...] = ()
    will_fetch: tuple[str, ...] = ()
    #: paths Nix can neither build nor fetch ("don't know how to build these paths")
    unknown: tuple[str, ...] = ()


_DRY_HEADERS = (
    (re.compile(r"^(these \d+ derivations|this derivation) will be built:"), "build"),
    (re.compile(r"^(these \d+ paths|this path) will be fetched"), "fetch"),
    (re.compile(r"^don't know how to build these paths"), "unknown"),
)


def parse_dry_run(stderr: str) -> DryRun:
    found: dict[str, list[str]] = {"build": [], "fetch": [], "unknown": []}
    section: str | None = None
    for line in stderr.splitlines():
        if line.startswith("  /"):
            if section is not None:
                found[section].append(line.strip())
            continue
        section = next((name for pattern, name in _DRY_HEADERS if pattern.match(line)), None)
    return DryRun(tuple(found["build"]), tuple(found["fetch"]), tuple(found["unknown"]))


@dataclass(frozen=True)
class Transfer:
    """What a realisation did, read from Nix's log."""

    #: store path -> cache URL it was copied from
    fetched: Mapping[str, str] = field(default_factory=dict)
    #: derivations built locally
    built: tuple[str, ...] = ()
    #: store path -> cache URL whose substitute Nix refused (no signature by a trusted key)
    untrusted: Mapping[str, str] = field(default_factory=dict)
    #: store path -> (hash the cache's narinfo promises, hash of the NAR it served)
    corrupted: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: cache URLs Nix gave up on (unreachable), with Nix's reason
    unreachable: Mapping[str, str] = field(default_factory=dict)


#: a path copied from a cache (one copied back from a remote builder, ``ssh-ng://``, was built there)
_COPIED = re.compile(r"copying path '(?P<path>/[^']+)' from '(?P<url>(?!ssh(?:-ng)?://)[^']+)'")
_BUILDING = re.compile(r"^building '(?P<drv>/[^']+\.drv)'")
_UNTRUSTED = re.compile(
    r"the substitute for '(?P<path>/[^']+)' from '(?P<url>[^']+)' is not signed by any of the keys"
)
_IMPORT_MISMATCH = re.compile(
    r"hash mismatch importing path '(?P<path>/[^']+)';\s*specified:\s*(?P<wanted>\S+)\s*got:\s*(?P<got>\S+)"
)
_DISABLED = re.compile(r"disabling binary cache '(?P<url>[^']+)'")
_UNABLE = re.compile(r"unable to download '(?P<url>[^']+)': (?P<why>.+)")


def parse_transfer(stderr: str) -> Transfer:
    fetched = {m["path"]: m["url"] for m in _COPIED.finditer(stderr)}
    built = tuple(dict.fromkeys(m["drv"] for line in stderr.splitlines() if (m := _BUILDING.match(line))))
    untrusted = {m["path"]: m["url"] for m in _UNTRUSTED.finditer(stderr)}
    corrupted = {m["path"]: (m["wanted"], m["got"]) for m in _IMPORT_MISMATCH.finditer(stderr)}
    for path in corrupted:
        fetched.pop(path, None)  # "copying path" is printed before the import fails
    unreachable: dict[str, str] = {}
    reasons = [(m["url"], m["why"].strip()) for m in _UNABLE.finditer(stderr)]
    for m in _DISABLED.finditer(stderr):
        url = m["url"].rstrip("/")
        why = next((reason for failed, reason in reasons if failed.startswith(url)), "Nix disabled it")
        unreachable[url] = why
    return Transfer(fetched, built, untrusted, corrupted, unreachable)


@dataclass(frozen=True)
class PathInfo:
    """One path as a store (a binary cache) knows it."""

    path: str
    valid: bool
    signatures: tuple[str, ...] = ()
    #: content address: fixed-output paths are trusted without a signature
    ca: str = ""
    references: tuple[str, ...] = ()

    @property
    def signers(self) -> tuple[str, ...]:
        """Names of the keys that signed it (``cache-1`` of ``cache-1:base64sig``)."""
        return tuple(dict.fromkeys(sig.split(":", 1)[0] for sig in self.signatures))


@dataclass(frozen=True)
class VerifyReport:
    """``nix store verify`` on a cache: paths whose content does not match, paths with no trusted key."""

    ok: bool
    modified: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    untrusted: tuple[str, ...] = ()
    other: str = ""


_MODIFIED = re.compile(
    r"path '(?P<path>/[^']+)' was modified! expected hash '(?P<wanted>[^']+)', got '(?P<got>[^']+)'"
)
_VERIFY_UNTRUSTED = re.compile(r"path '(?P<path>/[^']+)' is untrusted")


def parse_verify(exit_code: int, stderr: str) -> VerifyReport:
    modified = {m["path"]: (m["wanted"], m["got"]) for m in _MODIFIED.finditer(stderr)}
    untrusted = tuple(dict.fromkeys(m["path"] for m in _VERIFY_UNTRUSTED.finditer(stderr)))
    noise = ("checking '", "path '")
    other = "\n".join(
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(noise) and "was modified" not in line
    )
    return VerifyReport(exit_code == 0, modified, untrusted, other if exit_code & 4 else "")


def with_secret_key(url: str, secret_key_file: Path) -> str:
    """A binary-cache URL that signs what is copied to it."""
    return f"{url}{'&' if '?' in url else '?'}secret-key={secret_key_file}"


def with_compression(url: str) -> str:
    """A binary-cache URL that says how to compress NARs: zstd unless the URL says otherwise. Nix's
    default, xz, takes minutes for an env's closure (its interpreter is a 100 MB path); zstd seconds,
    and every Nix that reads caches (2.4 and later) reads it."""
    if _scheme(url) not in BINARY_CACHE_SCHEMES or "compression=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}compression=zstd"


class CacheBackend(NixBackend, Protocol):
    def dry_run(self, drvs: Sequence[str]) -> DryRun: ...

    def outputs(self, drvs: Sequence[str]) -> list[str]: ...

    def closure(self, paths: Sequence[str]) -> list[str]: ...

    def valid_paths(self, paths: Sequence[str]) -> list[str]: ...

    def copy_to(self, url: str, paths: Sequence[str], secret_key_file: Path | None) -> None: ...

    def modified_paths(self, paths: Sequence[str]) -> list[str]: ...

    def path_info(self, store_url: str, paths: Sequence[str]) -> dict[str, PathInfo]: ...

    def verify_in(
        self, store_url: str, paths: Sequence[str], trusted_public_keys: Sequence[str]
    ) -> VerifyReport: ...

    def generate_key(self, name: str, secret_file: Path, public_file: Path) -> None: ...


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "file"


class RealCacheNix(RealNix):
    """The real Nix tools, with the calls binary caches need."""

    def _nix(self, *args: str) -> list[str]:
        return ["nix", *_NIX_COMMAND, *args]

    def dry_run(self, drvs: Sequence[str]) -> DryRun:
        if not drvs:
            return DryRun()
        argv = ["nix-store", "--realise", "--dry-run", *nix_options_argv(self.options), *drvs]
        return parse_dry_run(run_process(argv, env=_nix_env()).stderr)

    def outputs(self, drvs: Sequence[str]) -> list[str]:
        if not drvs:
            return []
        argv = ["nix-store", *self._store_argv(), "--query", "--outputs", *drvs]
        return self._run(argv, "nix-store --query --outputs").stdout.split()

    def closure(self, paths: Sequence[str]) -> list[str]:
        if not paths:
            return []
        argv = ["nix-store", *self._store_argv(), "--query", "--requisites", *paths]
        return self._run(argv, "nix-store --query --requisites").stdout.split()

    def valid_paths(self, paths: Sequence[str]) -> list[str]:
        if not paths:
            return []
        argv = ["nix-store", *self._store_argv(), "--check-validity", "--print-invalid", *paths]
        invalid = set(self._run(argv, "nix-store --check-validity").stdout.split())
        return [p for p in paths if p not in invalid]

    def modified_paths(self, paths: Sequence[str]) -> list[str]:
        """Paths whose contents no longer match the hash Nix registered when they were built (one call)."""
        if not paths:
            return []
        outcome = run_process(["nix-store", *self._store_argv(), "--verify-path", *paths], env=_nix_env())
        modified = list(dict.fromkeys(m["path"] for m in _MODIFIED.finditer(outcome.stderr)))
        if not outcome.ok and not modified:
            tail = "\n".join(outcome.stderr.strip().splitlines()[-5:])
            raise NixError(f"nix-store --verify-path failed (exit {outcome.exit_code}):\n{tail}")
        return modified

    def copy_to(self, url: str, paths: Sequence[str], secret_key_file: Path | None) -> None:
        if not paths:
            return
        target = with_compression(url)
        if secret_key_file is not None:
            if _scheme(url) in BINARY_CACHE_SCHEMES:
                target = with_secret_key(target, secret_key_file)
            else:  # ssh:// and friends copy signatures as they are: sign in the local store first
                self._run(
                    self._nix(
                        *self._store_argv(), "store", "sign", "--key-file", str(secret_key_file), *paths
                    ),
                    "nix store sign",
                )
        argv = self._nix(*nix_options_argv(self.options), "copy", "--to", target, *paths)
        self._run(argv, f"nix copy --to {url}")

    def path_info(self, store_url: str, paths: Sequence[str]) -> dict[str, PathInfo]:
        if not paths:
            return {}
        argv = self._nix("--option", "substituters", "", "path-info", "--store", store_url, "--json", *paths)
        outcome = run_process(argv, env=_nix_env())
        try:
            data = json.loads(outcome.stdout or "null")
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, list):
            tail = "\n".join(outcome.stderr.strip().splitlines()[-5:])
            raise NixError(f"cannot read binary cache {store_url}:\n{tail}")
        infos: dict[str, PathInfo] = {}
        for item in data:
            infos[item["path"]] = PathInfo(
                path=item["path"],
                valid=item.get("valid", True) is not False,
                signatures=tuple(item.get("signatures", ())),
                ca=item.get("ca", "") or "",
                references=tuple(item.get("references", ())),
            )
        return infos

    def verify_in(
        self, store_url: str, paths: Sequence[str], trusted_public_keys: Sequence[str]
    ) -> VerifyReport:
        if not paths:
            return VerifyReport(ok=True)
        argv = self._nix(
            "--option", "substituters", "", "--option", "trusted-public-keys", " ".join(trusted_public_keys),
            "store", "verify", "--store", store_url, *paths,
        )  # fmt: skip
        outcome = run_process(argv, env=_nix_env())
        return parse_verify(outcome.exit_code, outcome.stderr)

    def generate_key(self, name: str, secret_file: Path, public_file: Path) -> None:
        argv = ["nix-store", "--generate-binary-cache-key", name, str(secret_file), str(public_file)]
        self._run(argv, "nix-store --generate-binary-cache-key")
