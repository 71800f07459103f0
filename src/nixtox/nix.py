"""A narrow interface to Nix: instantiate, build, validity, roots.

Every call passes the options nixtox needs (never edits /etc/nix): as root without a daemon the build
users group and sandbox are switched off, and the default substituter is replaced by the configured caches
(none by default) so calls do not lose seconds retrying an unreachable cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nixtox._process import ProcessOutcome, find_program, run_process
from nixtox.errors import BuildError, NixError

__all__ = ["NixBackend", "NixOptions", "RealNix", "RealiseOutcome", "nix_options_argv"]

_FAILED_DRV = re.compile(r"builder for '(/nix/store/[^']+\.drv)' failed")


@dataclass(frozen=True)
class NixOptions:
    substituters: tuple[str, ...] = ()
    trusted_public_keys: tuple[str, ...] = ()
    max_jobs: int | str = "auto"
    cores: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)


def _daemonless_root() -> bool:
    if os.geteuid() != 0:
        return False
    remote = os.environ.get("NIX_REMOTE", "")
    return remote in ("", "local") and not Path("/nix/var/nix/daemon-socket/socket").exists()


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
    #: paths Nix reported it would build / fetch (parsed from its dry-run style messages).
    log_tail: str
    seconds: float


class NixBackend(Protocol):
    def instantiate(self, expr_file: Path, attrs: Sequence[str]) -> list[str]: ...

    def output_path(self, drv: str) -> Path: ...

    def realise(self, drvs: Sequence[str]) -> RealiseOutcome: ...

    def requisites(self, drv: str) -> set[str]: ...

    def build_log(self, drv: str) -> str: ...

    def build(self, expr_file: Path, attrs: Sequence[str]) -> list[Path]: ...

    def is_valid(self, path: Path) -> bool: ...

    def add_root(self, store_path: Path, link: Path) -> None: ...


def _nix_env() -> dict[str, str]:
    env = dict(os.environ)
    # a user's NIX_PATH may point at a nixpkgs; nixtox's expressions do not rely on it.
    env.setdefault("NIX_PATH", "")
    return env


class RealNix:
    """The real Nix command-line tools."""

    def __init__(self, options: NixOptions | None = None) -> None:
        self.options = options or NixOptions()

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

    def instantiate(self, expr_file: Path, attrs: Sequence[str]) -> list[str]:
        argv = ["nix-instantiate", str(expr_file), *nix_options_argv(self.options)]
        for attr in attrs:
            argv += ["-A", attr]
        return self._run(argv, "nix-instantiate").stdout.split()

    def build(self, expr_file: Path, attrs: Sequence[str]) -> list[Path]:
        argv = ["nix-build", str(expr_file), "--no-out-link", *nix_options_argv(self.options)]
        for attr in attrs:
            argv += ["-A", attr]
        return [Path(p) for p in self._run(argv, "nix-build").stdout.split()]

    def output_path(self, drv: str) -> Path:
        out = self._run(["nix-store", "--query", "--outputs", drv], "nix-store --query").stdout.split()
        return Path(out[0])

    def realise(self, drvs: Sequence[str]) -> RealiseOutcome:
        argv = ["nix-store", "--realise", "--keep-going", *nix_options_argv(self.options), *drvs]
        outcome = run_process(argv, env=_nix_env())
        failed = tuple(dict.fromkeys(_FAILED_DRV.findall(outcome.stderr)))
        tail = "\n".join(outcome.stderr.strip().splitlines()[-40:])
        return RealiseOutcome(outcome.ok, failed, tail, outcome.seconds)

    def requisites(self, drv: str) -> set[str]:
        return set(self._run(["nix-store", "--query", "--requisites", drv], "nix-store -qR").stdout.split())

    def build_log(self, drv: str) -> str:
        outcome = run_process(["nix-store", "--read-log", drv], env=_nix_env())
        return outcome.stdout if outcome.ok else ""

    def is_valid(self, path: Path) -> bool:
        return run_process(["nix-store", "--check-validity", str(path)], env=_nix_env()).ok

    def add_root(self, store_path: Path, link: Path) -> None:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        self._run(
            ["nix-store", "--realise", str(store_path), "--add-root", str(link), "--indirect"],
            f"adding GC root {link}",
        )
