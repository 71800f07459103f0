"""Realise stage: rendered envs -> store paths, with the fingerprint fast path.

An env whose fingerprint matches ``.nixtox/state.json`` and whose store path and GC root exist costs no
Nix call. All others are instantiated and realised in one ``nix-store --realise --keep-going`` call; a
failing env is reported with its builder's log while the other envs keep their results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nixtox._roots import temporary_roots
from nixtox.errors import BuildError
from nixtox.model import RealisedEnv
from nixtox.nix import NixBackend, RealiseOutcome
from nixtox.render import EnvInputs, write_default_nix, write_env_file, write_work_file
from nixtox.state import EnvState, State, gcroot_dir, store_has

__all__ = ["RealiseResult", "realise_envs"]


@dataclass(frozen=True)
class RealiseResult:
    realised: dict[str, RealisedEnv]
    #: env key -> one-paragraph reason (evaluation error, builder log tail)
    failed: dict[str, str]


def _gcroot(work_dir: Path, key: str, store: str = "") -> Path:
    return gcroot_dir(work_dir, store) / key


def _up_to_date(state: State, work_dir: Path, env: EnvInputs) -> EnvState | None:
    """The env's state when it was built from these inputs into this run's store and is still there."""
    key = env.rendered.locked.spec.key
    known = state.envs.get(key)
    if known is None or known.fingerprint != env.rendered.fingerprint:
        return None
    if not store_has(state.store, known.store_path) or not _gcroot(work_dir, key, state.store).is_symlink():
        return None
    return known


def realise_envs(
    envs: Sequence[EnvInputs],
    *,
    work_dir: Path,
    nix: NixBackend,
    recreate: bool = False,
    shared_files: Mapping[str, str] | None = None,
    notify: Callable[[str], None] | None = None,
    store: str = "",
) -> RealiseResult:
    """Bring every env to a valid store path in ``store`` ("" = the default store); the caller holds the
    work-dir lock.

    ``shared_files`` (name -> text) are written into the work dir before Nix reads the env files."""
    state = State.read(work_dir, store)
    realised: dict[str, RealisedEnv] = {}
    pending: list[EnvInputs] = []
    for env in envs:
        known = None if recreate else _up_to_date(state, work_dir, env)
        if known is None:
            pending.append(env)
            continue
        realised[env.rendered.locked.spec.key] = RealisedEnv(
            env.rendered, Path(known.store_path), known.drv_path or None, cached=True, setup_seconds=0.0
        )
    failed: dict[str, str] = {}
    if pending:
        if notify is not None:
            labels = ", ".join(e.rendered.locked.spec.label for e in pending)
            notify(f"nixtox: building {len(pending)} env(s) with Nix: {labels}\n")
        for name, text in (shared_files or {}).items():
            write_work_file(work_dir, name, text)
        built, failed = _build(pending, work_dir=work_dir, nix=nix, state=state)
        realised.update(built)
        state.write()
    return RealiseResult(realised, failed)


def _instantiate(
    envs: Sequence[EnvInputs], default_nix: Path, nix: NixBackend, roots: Path
) -> tuple[dict[str, str], dict[str, str]]:
    """env key -> drv path (each rooted in ``roots`` as Nix writes it); evaluation errors are attributed
    to their env by retrying one by one."""
    keys = [e.rendered.locked.spec.key for e in envs]
    attrs = [e.rendered.attr for e in envs]
    try:
        return dict(zip(keys, nix.instantiate(default_nix, attrs, root=roots / "drvs"), strict=True)), {}
    except BuildError:
        if len(envs) == 1:
            raise
    drvs: dict[str, str] = {}
    errors: dict[str, str] = {}
    for index, (key, attr) in enumerate(zip(keys, attrs, strict=True)):
        try:
            drvs[key] = nix.instantiate(default_nix, [attr], root=roots / f"drv-of-{index}")[0]
        except BuildError as exc:
            errors[key] = exc.message
    return drvs, errors


def _realise_rooted(drvs: Sequence[str], nix: NixBackend, roots: Path) -> RealiseOutcome:
    """One ``--keep-going`` realisation whose outputs are rooted by the call itself. Nix adds no root when
    a build failed, so the envs that did not fail are realised (and rooted) once more: if a collection
    removed one in between, Nix builds it again rather than nixtox handing out a deleted path."""
    outcome = nix.realise(drvs, root=roots / "out")
    if not outcome.ok:
        failed = {*outcome.failed_drvs, *outcome.hash_mismatches}
        if failed:
            retry = [drv for drv in drvs if not failed & nix.requisites(drv)]
        else:  # a failure Nix did not attribute: do not build anything twice
            retry = [drv for drv in drvs if nix.is_valid(nix.output_path(drv))]
        if retry:
            nix.realise(retry, root=roots / "built")
    return outcome


def _build(
    envs: Sequence[EnvInputs], *, work_dir: Path, nix: NixBackend, state: State
) -> tuple[dict[str, RealisedEnv], dict[str, str]]:
    start = time.monotonic()
    for env in envs:
        write_env_file(work_dir, env.rendered.locked.spec.key, env.text)
    default_nix = write_default_nix(work_dir)
    with temporary_roots() as roots:
        try:
            drvs, failed = _instantiate(envs, default_nix, nix, roots)
        except BuildError as exc:
            return {}, {envs[0].rendered.locked.spec.key: exc.message}
        outcome = _realise_rooted(list(drvs.values()), nix, roots) if drvs else None
        seconds = time.monotonic() - start
        realised: dict[str, RealisedEnv] = {}
        by_key = {e.rendered.locked.spec.key: e for e in envs}
        for key, drv in drvs.items():
            out = nix.output_path(drv)
            if not nix.is_valid(out):  # valid in the store Nix uses (NIXTOX_NIX_STORE may be another one)
                failed[key] = _failure_reason(drv, nix, outcome)
                continue
            nix.add_root(out, _gcroot(work_dir, key, state.store))  # lasting root, while the temporary holds
            env = by_key[key]
            label = env.rendered.locked.spec.label
            state.envs[key] = EnvState(env.rendered.fingerprint, str(out), drv, label)
            realised[key] = RealisedEnv(env.rendered, out, drv, cached=False, setup_seconds=seconds)
    return realised, failed


def _failure_reason(drv: str, nix: NixBackend, outcome: RealiseOutcome | None) -> str:
    """One summary line naming what failed, then the failing builder's log tail."""
    closure = nix.requisites(drv)
    if outcome is not None:
        for bad, (wanted, got) in outcome.hash_mismatches.items():
            if bad in closure:
                name = _store_name(bad)
                return (
                    f"hash mismatch for {name}: nixtox.lock pins {wanted} but the download is {got}"
                    " (the lock was edited or the file changed upstream; run `nixtox lock --upgrade`)"
                )
    culprits = [d for d in (outcome.failed_drvs if outcome else ()) if d in closure]
    if not culprits:
        return "build failed:\n" + (outcome.log_tail if outcome else "")
    log = nix.build_log(culprits[0]).strip().splitlines()
    said = [line.removeprefix("nixtox: ") for line in log if line.startswith("nixtox: ")]
    summary = said[-1] if said else f"building {_store_name(culprits[0])} failed"
    return summary + "\n" + "\n".join(log[-30:])


def _store_name(path: str) -> str:
    return Path(path).name.split("-", 1)[-1].removesuffix(".drv")
