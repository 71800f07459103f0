"""Say what the caches will do and what they did: a Nix backend wrapper used by ``nixtox run``.

Before realising, one dry-run per pending env tells whether it will be fetched or built, and the
signatures of what would be fetched are checked against the trusted keys (Nix's own dry-run does not);
afterwards Nix's log tells how many paths were fetched and how many derivations were built, and every
refused substitute (untrusted signature, corrupted NAR, unreachable cache) is named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from nixtox.nix import BuildWatcher, RealiseOutcome

from ._nix import CacheBackend, DryRun, PathInfo, Transfer, parse_transfer

__all__ = [
    "CacheReportingNix",
    "env_plan_line",
    "format_corrupted",
    "format_untrusted",
    "transfer_summary",
    "untrusted_in_caches",
]

Notify = Callable[[str], None]
_NOT_IN_STORE = Path("/nonexistent/nixtox-not-in-this-store")


def _name(path: str) -> str:
    return Path(path).name.split("-", 1)[-1].removesuffix(".drv")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def env_plan_line(label: str, dry: DryRun) -> str:
    """``py312: fetch 14 paths from the cache`` / ``build 2 derivations (...)`` / ``already in the store``."""
    if dry.will_build:
        fetch = f", fetch {_plural(len(dry.will_fetch), 'path')}" if dry.will_fetch else ""
        names = ", ".join(_name(d) for d in dry.will_build[:3]) + (", ..." if len(dry.will_build) > 3 else "")
        return f"{label}: build {_plural(len(dry.will_build), 'derivation')} ({names}){fetch}"
    if dry.will_fetch:
        return f"{label}: fetch {_plural(len(dry.will_fetch), 'path')} from the cache, build nothing"
    return f"{label}: already in the Nix store"


def untrusted_in_caches(
    paths: Sequence[str],
    infos_by_cache: Mapping[str, Mapping[str, PathInfo]],
    trusted_key_names: Sequence[str],
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Paths no cache can deliver with a trusted signature: path -> (cache, names of the keys that signed it).

    A path is fine when some cache holds it content-addressed (fixed-output) or signed by a trusted key."""
    refused: dict[str, tuple[str, tuple[str, ...]]] = {}
    for path in paths:
        holders = [
            (url, infos[path]) for url, infos in infos_by_cache.items() if path in infos and infos[path].valid
        ]
        if not holders:
            continue
        if any(info.ca or set(info.signers) & set(trusted_key_names) for _, info in holders):
            continue
        url, info = holders[0]
        refused[path] = (url, info.signers)
    return refused


def format_untrusted(
    refused: Mapping[str, tuple[str, tuple[str, ...]]], trusted_key_names: Sequence[str], *, label: str = ""
) -> list[str]:
    """One line per cache: which paths it serves unsigned or signed by an untrusted key, and by which key."""
    by_cache: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for path, (url, signers) in refused.items():
        by_cache.setdefault((url, signers), []).append(path)
    trusted = ", ".join(trusted_key_names) or "none configured (set trusted_public_keys)"
    prefix = f"{label}: " if label else ""
    lines = []
    for (url, signers), paths in by_cache.items():
        signed = f"signed by {', '.join(signers)}, which is not trusted" if signers else "not signed at all"
        sample = ", ".join(_name(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
        lines.append(
            f"{prefix}refusing {_plural(len(paths), 'path')} from {url} ({sample}): {signed}; "
            f"trusted keys: {trusted}. They are built locally instead."
        )
    return lines


def format_corrupted(corrupted: Mapping[str, tuple[str, str]], caches: Sequence[str]) -> list[str]:
    where = " or ".join(caches) or "the cache"
    return [
        f"refused {path} from {where}: its content does not match the hash its signed entry promises "
        f"(expected {wanted}, got {got}); the cache entry is corrupted or was tampered with. "
        "Nothing was imported; remove the entry from the cache (or the cache from substituters) and rerun."
        for path, (wanted, got) in corrupted.items()
    ]


def transfer_summary(transfer: Transfer) -> str:
    caches = sorted(set(transfer.fetched.values()))
    source = f" from {', '.join(caches)}" if caches else ""
    return (
        f"fetched {_plural(len(transfer.fetched), 'path')}{source}, "
        f"built {_plural(len(transfer.built), 'derivation')} locally"
    )


class CacheReportingNix:
    """A ``NixBackend`` that reports cache use around ``realise``; every other call goes to ``inner``."""

    def __init__(
        self,
        inner: CacheBackend,
        *,
        notify: Notify,
        substituters: Sequence[str],
        trusted_key_names: Sequence[str],
        separate_store: bool = False,
    ) -> None:
        self.inner = inner
        self.separate_store = separate_store
        self.notify = notify
        self.substituters = tuple(substituters)
        self.trusted_key_names = tuple(trusted_key_names)
        #: drv -> env attribute (``envs.py312``), recorded by ``instantiate``
        self.labels: dict[str, str] = {}
        self.plans: dict[str, DryRun] = {}
        self.transfer: Transfer | None = None

    def instantiate(self, expr_file: Path, attrs: Sequence[str], *, root: Path | None = None) -> list[str]:
        drvs = self.inner.instantiate(expr_file, attrs, root=root)
        if len(drvs) == len(attrs):
            self.labels.update(
                {drv: attr.removeprefix("envs.") for drv, attr in zip(drvs, attrs, strict=True)}
            )
        return drvs

    def output_path(self, drv: str) -> Path:
        out = self.inner.output_path(drv)
        if self.separate_store and not self.inner.is_valid(out):
            # the realise stage asks the file system whether the output exists; in a separate store the
            # logical path may exist on disk (the system store has it) without being valid here.
            return _NOT_IN_STORE / out.name
        return out

    def requisites(self, drv: str) -> set[str]:
        return self.inner.requisites(drv)

    def build_log(self, drv: str) -> str:
        return self.inner.build_log(drv)

    def is_valid(self, path: Path) -> bool:
        return self.inner.is_valid(path)

    def add_root(self, store_path: Path, link: Path) -> None:
        self.inner.add_root(store_path, link)

    def _report_refused(self, refused: Mapping[str, str]) -> None:
        """Substitutes Nix refused for their signature: unsigned or untrusted, or signed by a trusted key
        whose signature does not verify (the .narinfo was edited after signing)."""
        forged: list[str] = []
        for url in sorted(set(refused.values())):
            paths = [p for p, u in refused.items() if u == url]
            try:
                infos = self.inner.path_info(url, paths)
            except Exception:  # the cache became unreadable: say what Nix said
                infos = {}
            forged += [p for p in paths if p in infos and set(infos[p].signers) & set(self.trusted_key_names)]
        others = len(refused) - len(forged)
        for path in forged:
            self.notify(
                f"nixtox: error: refused {path} from {refused[path]}: it is signed by a trusted key, but the"
                " signature does not match its .narinfo (NarHash, NarSize or References were edited after"
                " signing); the cache entry is corrupted or was tampered with. Built locally instead\n"
            )
        if others:
            self.notify(
                f"nixtox: warning: Nix refused {_plural(others, 'substitute')} not signed by a trusted "
                f"key ({', '.join(self.trusted_key_names) or 'no trusted_public_keys configured'}); "
                "built locally\n"
            )

    def plan(self, drvs: Sequence[str]) -> dict[str, DryRun]:
        """Per drv: what realising it would build and fetch; reports untrusted substitutes up front."""
        plans = {drv: self.inner.dry_run([drv]) for drv in drvs}
        self.plans.update(plans)
        to_fetch = sorted({p for dry in plans.values() for p in dry.will_fetch})
        infos = {url: self.inner.path_info(url, to_fetch) for url in self.substituters} if to_fetch else {}
        for drv, dry in plans.items():
            label = self.labels.get(drv, _name(drv))
            self.notify(f"nixtox: {env_plan_line(label, dry)}\n")
            refused = untrusted_in_caches(dry.will_fetch, infos, self.trusted_key_names)
            for line in format_untrusted(refused, self.trusted_key_names, label=label):
                self.notify(f"nixtox: warning: {line}\n")
        return plans

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        if self.substituters:
            try:
                self.plan(drvs)
            except Exception as exc:
                self.notify(f"nixtox: warning: could not ask the caches what they hold: {exc}\n")
        outcome = self.inner.realise(drvs, root=root, watcher=watcher)
        transfer = parse_transfer(outcome.stderr)
        self.transfer = transfer
        for url, why in transfer.unreachable.items():
            self.notify(f"nixtox: warning: cache {url} became unreachable ({why}); built locally instead\n")
        if transfer.untrusted:
            self._report_refused(transfer.untrusted)
        for line in format_corrupted(transfer.corrupted, self.substituters):
            self.notify(f"nixtox: error: {line}\n")
        if self.substituters or transfer.fetched:
            self.notify(f"nixtox: {transfer_summary(transfer)}\n")
        return outcome
