"""Binary caches: pull envs from signed caches, push them, verify and inspect what a cache holds.

``open_cache`` is what a session calls: it resolves the settings (config < ``$NIXTOX_*`` < command line),
drops caches it can tell are unreachable (saying so), and returns the Nix backend that reports fetches
and builds, plus ``push`` for ``nixtox run --push``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nixtox.model import CacheConfig, LockedEnv, RealisedEnv
from nixtox.nix import BuildWatcher, NixBackend, NixOptions, RealiseOutcome

from ._nix import (
    CacheBackend,
    DryRun,
    PathInfo,
    RealCacheNix,
    Transfer,
    parse_dry_run,
    parse_transfer,
    parse_verify,
)
from ._ops import (
    EnvPaths,
    EnvStatus,
    EnvVerdict,
    KeyPair,
    PushResult,
    env_status,
    keygen,
    push_envs,
    push_target,
    verify_envs,
)
from ._report import CacheReportingNix, env_plan_line, format_untrusted, transfer_summary, untrusted_in_caches
from ._settings import CacheOverrides, CacheSettings, probe_substituter, resolve_settings, to_nix_options

__all__ = [
    "CacheBackend",
    "CacheOverrides",
    "CacheReportingNix",
    "CacheSession",
    "CacheSettings",
    "DryRun",
    "EnvPaths",
    "EnvStatus",
    "EnvVerdict",
    "KeyPair",
    "PathInfo",
    "PlanOnlyNix",
    "PushResult",
    "RealCacheNix",
    "Transfer",
    "env_plan_line",
    "env_status",
    "format_untrusted",
    "interpreter_prefixes",
    "keygen",
    "open_cache",
    "parse_dry_run",
    "parse_transfer",
    "parse_verify",
    "probe_substituter",
    "push_envs",
    "push_target",
    "resolve_settings",
    "to_nix_options",
    "transfer_summary",
    "untrusted_in_caches",
    "verify_envs",
]

Notify = Callable[[str], None]


def _quiet(_text: str) -> None:
    return None


def interpreter_prefixes(envs: Sequence[LockedEnv]) -> list[Path]:
    """Install prefixes of the envs' host interpreters: builds in a separate store see only these."""
    prefixes: dict[Path, None] = {}
    for env in envs:
        for interpreter in (env.interpreter, env.build_interpreter):
            if interpreter is not None and interpreter.provider == "host":
                prefixes[Path(interpreter.executable).resolve().parents[1]] = None
    return list(prefixes)


def reachable_substituters(settings: CacheSettings, notify: Notify) -> tuple[str, ...]:
    """The configured caches minus those that are unreachable, each drop said once."""
    reachable = []
    for url in settings.substituters:
        why = probe_substituter(url)
        if why is None:
            reachable.append(url)
        else:
            notify(
                f"nixtox: warning: cache {url} is unreachable ({why}); "
                "building locally what it would provide\n"
            )
    return tuple(reachable)


@dataclass
class CacheSession:
    settings: CacheSettings
    backend: CacheBackend
    notify: Notify

    @property
    def reporting(self) -> NixBackend:
        """The backend a session realises with: it reports fetches and builds when caches are configured."""
        substituters = self.backend.options.substituters if isinstance(self.backend, RealCacheNix) else ()
        if not substituters and not self.settings.nix_store:
            return self.backend
        return CacheReportingNix(
            self.backend,
            notify=self.notify,
            substituters=substituters,
            trusted_key_names=self.settings.trusted_key_names,
            separate_store=bool(self.settings.nix_store),
        )

    def planner(self) -> PlanOnlyNix:
        """A backend that evaluates the envs but only dry-runs their realisation."""
        substituters = self.backend.options.substituters if isinstance(self.backend, RealCacheNix) else ()
        return PlanOnlyNix(
            self.backend,
            notify=_quiet,
            substituters=substituters,
            trusted_key_names=self.settings.trusted_key_names,
            separate_store=True,
        )

    def push(
        self, realised: Sequence[RealisedEnv], *, to: str | None = None, also: Sequence[EnvPaths] = ()
    ) -> PushResult:
        """The envs, and ``also`` (test results of envs that ran inside Nix, and their envs)."""
        envs = [EnvPaths(r.spec.label, str(r.store_path), r.drv_path) for r in realised]
        result = push_envs(self.backend, self.settings, [*envs, *also], to=to)
        results = sum(1 for paths in also if paths.drv_path is None)
        what = f"{len(envs) + len(also) - results} env(s)" + (
            f" and {results} test result(s)" if results else ""
        )
        self.notify(
            f"nixtox: pushed {len(result.pushed)} path(s) of {what} to {result.url} "
            f"({len(result.already)} were there already)\n"
        )
        if result.missing:
            self.notify(
                f"nixtox: warning: {len(result.missing)} build input(s) are no longer in the local store "
                "(garbage-collected) and were not pushed\n"
            )
        return result


def open_cache(
    config: CacheConfig,
    base: NixOptions,
    *,
    overrides: CacheOverrides | None = None,
    locked: Sequence[LockedEnv] = (),
    notify: Notify | None = None,
    push: bool = False,
    probe: bool = True,
) -> CacheSession:
    """Settings and backend for one session; with ``push`` a missing key or target fails before any build."""
    notify = notify or _quiet
    settings = resolve_settings(config, overrides=overrides)
    if push:
        push_target(settings)
    reachable = reachable_substituters(settings, notify) if probe else settings.substituters
    options = to_nix_options(
        settings, base, substituters=reachable, interpreter_prefixes=interpreter_prefixes(locked)
    )
    return CacheSession(settings, RealCacheNix(options, progress=notify), notify)


class PlanOnlyNix(CacheReportingNix):
    """Instantiates for real, only dry-runs ``realise``: what ``nixtox cache status|verify`` evaluate with."""

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        self.plan(drvs)
        return RealiseOutcome(True, (), {}, "", 0.0, built=False)

    def drv_for(self, key: str) -> str | None:
        return next((drv for drv, attr in self.labels.items() if attr == key), None)
