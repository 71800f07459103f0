"""A narrow interface to Nix: instantiate, build, validity, roots.

Every call passes the options nixtox needs (never edits /etc/nix): as root without a daemon the build
users group and sandbox are switched off, and the default substituter is replaced by the configured caches
(none by default) so calls do not lose seconds retrying an unreachable cache.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nixtox._build_progress import BuildProgress, read_drv, store_root
from nixtox._nix_log import BuildWatcher, NixLogReader
from nixtox._process import ProcessOutcome, find_program, run_process
from nixtox.errors import BuildError, NixError

__all__ = [
    "BUILDERS_VAR",
    "BuildProgress",
    "BuildWatcher",
    "NixBackend",
    "NixOptions",
    "RealNix",
    "RealiseOutcome",
    "nix_options_argv",
    "parse_realise_errors",
    "resolve_builders",
]

#: the environment variable that gives the remote builders (between the config and ``--builders``)
BUILDERS_VAR = "NIXTOX_BUILDERS"

_FAILED_DRV = re.compile(r"builder for '(/nix/store/[^']+\.drv)' failed")
_HASH_MISMATCH = re.compile(
    r"hash mismatch in fixed-output derivation '(?P<drv>/nix/store/[^']+)':\s*"
    r"specified:\s*(?P<wanted>\S+)\s*got:\s*(?P<got>\S+)"
)


@dataclass(frozen=True)
class NixOptions:
    substituters: tuple[str, ...] = ()
    trusted_public_keys: tuple[str, ...] = ()
    max_jobs: int | str = "auto"
    cores: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)
    #: another Nix store (``--store``: a directory or store URL) for every call; "" = the default store.
    store: str = ""
    #: remote builders in Nix's machines syntax; None: what the machine's nix.conf says
    builders: str | None = None


def resolve_builders(configured: str, given: str | None, environ: Mapping[str, str]) -> str | None:
    """``--builders``, else ``$NIXTOX_BUILDERS``, else the config's ``builders``; None: none given
    (Nix's own setting applies). An empty ``--builders ''`` means no remote builders."""
    if given is not None:
        return given.strip()
    if environ.get(BUILDERS_VAR, "").strip():
        return environ[BUILDERS_VAR].strip()
    return configured.strip() or None


def _daemonless_root() -> bool:
    """Root opens the local store itself (unless NIX_REMOTE says daemon): then nixtox's builders, which
    run host interpreters, need no build users and no sandbox."""
    if os.geteuid() != 0:
        return False
    return os.environ.get("NIX_REMOTE", "") in ("", "local", "auto")


def nix_options_argv(options: NixOptions) -> list[str]:
    """``--option k v`` pairs for one Nix call."""
    opts: dict[str, str] = {
        "substituters": " ".join(options.substituters),
        "max-jobs": str(options.max_jobs),
        "cores": str(options.cores),
        "keep-derivations": "true",
    }
    if options.trusted_public_keys:
        opts["trusted-public-keys"] = " ".join(options.trusted_public_keys)
    if _daemonless_root():
        opts["build-users-group"] = ""
        opts["sandbox"] = "false"
    if options.store:
        opts["store"] = options.store
    if options.builders is not None:
        opts["builders"] = options.builders
    opts.update(options.extra)
    argv: list[str] = []
    for key, value in opts.items():
        argv += ["--option", key, value]
    return argv


@dataclass(frozen=True)
class RealiseOutcome:
    """What one ``nix-store --realise --keep-going`` call did."""

    ok: bool
    #: derivations whose builder failed (parsed from Nix's messages).
    failed_drvs: tuple[str, ...]
    #: fixed-output derivations whose download did not match the pinned hash: drv -> (wanted, got).
    hash_mismatches: Mapping[str, tuple[str, str]]
    log_tail: str
    seconds: float
    #: Nix's whole stderr (``copying path ... from`` / ``building ...`` lines, substituter warnings).
    stderr: str = ""
    #: whether the call built (False: a planning backend's dry run, after which nothing is valid).
    built: bool = True

    @property
    def outputs_valid(self) -> bool:
        """Every output of the call's derivations is valid in its store, without asking Nix again."""
        return self.ok and self.built


def _hex(nix_hash: str) -> str:
    """``sha256-<base64>`` (SRI, what Nix prints) -> hex, the form nixtox.lock uses."""
    if nix_hash.startswith("sha256-"):
        try:
            return "sha256:" + base64.b64decode(nix_hash.removeprefix("sha256-")).hex()
        except ValueError:
            return nix_hash
    return nix_hash


def parse_realise_errors(stderr: str) -> tuple[tuple[str, ...], dict[str, tuple[str, str]]]:
    """(derivations whose builder failed, fixed-output hash mismatches: drv -> (pinned, downloaded))."""
    failed = tuple(dict.fromkeys(_FAILED_DRV.findall(stderr)))
    mismatches = {m["drv"]: (_hex(m["wanted"]), _hex(m["got"])) for m in _HASH_MISMATCH.finditer(stderr)}
    return failed, mismatches


class NixBackend(Protocol):
    """``root``: add indirect GC roots ``root``, ``root-2``, ... (one per path, in order) in the same Nix
    call, so a concurrent garbage collection cannot delete what the call created before it is rooted."""

    def instantiate(
        self, expr_file: Path, attrs: Sequence[str], *, root: Path | None = None
    ) -> list[str]: ...

    def output_path(self, drv: str) -> Path: ...

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        """``watcher`` hears, per derivation, when it builds where, its log lines and when it is done."""
        ...

    def requisites(self, drv: str) -> set[str]: ...

    def build_log(self, drv: str) -> str: ...

    def is_valid(self, path: Path) -> bool: ...

    def add_root(self, store_path: Path, link: Path) -> None: ...


def _root_argv(root: Path | None) -> list[str]:
    return ["--add-root", str(root), "--indirect"] if root is not None else []


def _printed_paths(stdout: str) -> list[str]:
    """Store paths a Nix call printed; with ``--add-root`` it prints the roots, which point at them."""
    return [os.readlink(line) if os.path.islink(line) else line for line in stdout.split()]


def _nix_env() -> dict[str, str]:
    env = dict(os.environ)
    # a user's NIX_PATH may point at a nixpkgs; nixtox's expressions do not rely on it.
    env.setdefault("NIX_PATH", "")
    return env


class RealNix:
    """The real Nix command-line tools."""

    def __init__(
        self,
        options: NixOptions | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        verbosity: int = 2,
    ) -> None:
        self.options = options or NixOptions()
        #: told, in one line each, what Nix builds and fetches while it realises
        self.progress = progress
        #: tox's verbosity levels for that: 3 (-v) also streams the build log, 1 (-q) only failures
        self.verbosity = verbosity

    def _store_argv(self) -> list[str]:
        return ["--option", "store", self.options.store] if self.options.store else []

    def _run(self, argv: list[str], what: str) -> ProcessOutcome:
        try:
            find_program(argv[0], what="install Nix: apt-get install nix-bin, or see https://nixos.org")
        except Exception as exc:
            raise NixError(str(exc)) from None
        outcome = run_process(argv, env=_nix_env())
        if not outcome.ok:
            tail = "\n".join(outcome.stderr.strip().splitlines()[-25:])
            raise BuildError(f"{what} failed (exit {outcome.exit_code}):\n{tail}")
        return outcome

    def instantiate(self, expr_file: Path, attrs: Sequence[str], *, root: Path | None = None) -> list[str]:
        argv = ["nix-instantiate", str(expr_file), *nix_options_argv(self.options), *_root_argv(root)]
        for attr in attrs:
            argv += ["-A", attr]
        return _printed_paths(self._run(argv, "nix-instantiate").stdout)

    def output_path(self, drv: str) -> Path:
        """The ``out`` path of ``drv``, read from the .drv file when the store is a local directory (no
        Nix call), else asked of Nix."""
        if not self.options.store or store_root(self.options.store):
            out, _builder = read_drv(drv, store_root(self.options.store))
            if out is not None:
                return Path(out)
        argv = ["nix-store", *self._store_argv(), "--query", "--outputs", drv]
        return Path(self._run(argv, "nix-store --query").stdout.split()[0])

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        """Build ``drvs`` (keep going past failures). Nix adds ``root`` only when every build succeeded.
        With a ``watcher`` Nix logs in its internal JSON format, which says whose each log line is."""
        argv = ["nix-store", "--realise", "--keep-going", *nix_options_argv(self.options), *_root_argv(root)]
        if watcher is not None:
            argv += ["--log-format", "internal-json", "-v"]  # -v: the build activities, with machines
        argv += drvs
        store_dir = store_root(self.options.store)
        follow = (
            BuildProgress(self.progress, verbosity=self.verbosity, store_dir=store_dir)
            if self.progress
            else None
        )
        plain: list[str] = []
        reader = NixLogReader(watcher) if watcher is not None else None

        def on_line(line: str) -> None:
            text = reader.feed(line) if reader is not None else line
            if text is None:
                return
            plain.append(text)
            if follow is not None:
                follow(text)

        outcome = run_process(argv, env=_nix_env(), on_stderr_line=on_line)
        if follow is not None:
            follow.finish()
        stderr = "".join(plain)
        failed, mismatches = parse_realise_errors(stderr)
        tail = "\n".join(stderr.strip().splitlines()[-40:])
        return RealiseOutcome(outcome.ok, failed, mismatches, tail, outcome.seconds, stderr)

    def requisites(self, drv: str) -> set[str]:
        argv = ["nix-store", *self._store_argv(), "--query", "--requisites", drv]
        return set(self._run(argv, "nix-store -qR").stdout.split())

    def build_log(self, drv: str) -> str:
        outcome = run_process(["nix-store", *self._store_argv(), "--read-log", drv], env=_nix_env())
        return outcome.stdout if outcome.ok else ""

    def is_valid(self, path: Path) -> bool:
        argv = ["nix-store", *self._store_argv(), "--check-validity", str(path)]
        return run_process(argv, env=_nix_env()).ok

    def add_root(self, store_path: Path, link: Path) -> None:
        """An indirect GC root ``link`` -> ``store_path`` (replacing an older link of that name)."""
        link.parent.mkdir(parents=True, exist_ok=True)
        argv = ["nix-store", *nix_options_argv(self.options), "--realise", str(store_path)]
        argv += ["--add-root", str(link), "--indirect"]
        for attempt in (1, 2):
            link.unlink(missing_ok=True)
            try:
                self._run(argv, f"adding GC root {link}")
                return
            except BuildError:
                if attempt == 2:
                    raise
