"""Realise stage: rendered envs -> store paths, with the fingerprint fast path.

An env whose fingerprint matches ``.nixtox/state.json`` and whose store path and GC root exist costs no
Nix call. All others are instantiated and realised in one ``nix-store --realise --keep-going`` call; a
failing env is reported with its builder's log while the other envs keep their results.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nixtox._nix_log import machine_host
from nixtox._roots import temporary_roots
from nixtox.errors import BuildError, NixtoxError
from nixtox.model import RealisedEnv, RenderedEnv
from nixtox.nix import NixBackend, RealiseOutcome
from nixtox.render import env_text, write_default_nix, write_env_file, write_work_file
from nixtox.state import EnvState, State, gcroot_dir, store_has

__all__ = ["RealiseResult", "build_kind", "built_on", "failure_reason", "realise_envs"]


@dataclass(frozen=True)
class RealiseResult:
    """Per env key: its store path, or the error that ends it (evaluation error, builder log tail)."""

    outcomes: dict[str, RealisedEnv | NixtoxError]
    #: per env key, the seconds spent on it: every env Nix built waited for the whole Nix call
    seconds: dict[str, float]


_BUILT = re.compile(r"^building '(?P<drv>[^']+\.drv)'(?: on '(?P<machine>[^']+)')?", re.MULTILINE)


def built_on(stderr: str) -> dict[str, str]:
    """drv -> where Nix built it (``local``, or a builder's host), from its log of a realisation. A
    remote build is logged twice: "on 'ssh-ng://…'", and as the builder's own (local to it) build."""
    found: dict[str, str] = {}
    for match in _BUILT.finditer(stderr):
        where = machine_host(match["machine"] or "")
        if found.get(match["drv"], "local") == "local":
            found[match["drv"]] = where
    return found


def _gcroot(work_dir: Path, key: str, store: str = "") -> Path:
    return gcroot_dir(work_dir, store) / key


def _up_to_date(state: State, work_dir: Path, env: RenderedEnv) -> EnvState | None:
    """The env's state when it was built from these inputs into this run's store and is still there."""
    key = env.spec.key
    known = state.envs.get(key)
    if known is None or known.fingerprint != env.fingerprint:
        return None
    if not store_has(state.store, known.store_path) or not _gcroot(work_dir, key, state.store).is_symlink():
        return None
    return known


def realise_envs(
    envs: Sequence[RenderedEnv],
    *,
    work_dir: Path,
    nix: NixBackend,
    recreate: bool = False,
    shared_files: Mapping[str, str] | None = None,
    notify: Callable[[str], None] | None = None,
    keys: Sequence[str] | None = None,
    store: str = "",
) -> RealiseResult:
    """Bring every env to a valid store path in ``store`` ("" = the default store); the caller holds the
    work-dir lock.

    ``shared_files`` (name -> text) are written into the work dir before Nix reads the env files;
    ``keys`` are the project's env keys (``default.nix`` joins only their files)."""
    state = State.read(work_dir, store)
    outcomes: dict[str, RealisedEnv | NixtoxError] = {}
    pending: list[RenderedEnv] = []
    for env in envs:
        # the env's own `recreate` key rebuilds it as `-r` does
        known = None if recreate or env.spec.config.recreate else _up_to_date(state, work_dir, env)
        if known is None:
            pending.append(env)
            continue
        outcomes[env.spec.key] = RealisedEnv(env, Path(known.store_path), known.drv_path or None, cached=True)
    if not pending:
        return RealiseResult(outcomes, {})
    start = time.monotonic()
    if notify is not None:
        labels = ", ".join(e.spec.label for e in pending)
        notify(f"nixtox: building {len(pending)} env(s) with Nix: {labels}\n")
    for name, text in (shared_files or {}).items():
        write_work_file(work_dir, name, text)
    outcomes.update(_build(pending, work_dir=work_dir, nix=nix, state=state, keys=keys))
    state.write()
    seconds = time.monotonic() - start
    return RealiseResult(outcomes, {env.spec.key: seconds for env in pending})


def _instantiate(
    envs: Sequence[RenderedEnv], default_nix: Path, nix: NixBackend, roots: Path
) -> tuple[dict[str, str], dict[str, str]]:
    """env key -> drv path (each rooted in ``roots`` as Nix writes it); evaluation errors are attributed
    to their env by retrying one by one."""
    keys = [e.spec.key for e in envs]
    attrs = [e.attr for e in envs]
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
        present = [drv for drv in drvs if nix.is_valid(Path(drv))]
        failed = {*outcome.failed_drvs, *outcome.hash_mismatches}
        if failed:
            retry = [drv for drv in present if not failed & nix.requisites(drv)]
        else:  # a failure Nix did not attribute: do not build anything twice
            retry = [drv for drv in present if nix.is_valid(nix.output_path(drv))]
        if retry:
            nix.realise(retry, root=roots / "built")
    return outcome


def _instantiate_and_realise(
    envs: Sequence[RenderedEnv], default_nix: Path, nix: NixBackend, roots: Path
) -> tuple[dict[str, str], dict[str, str], dict[str, RealiseOutcome]]:
    """(env key -> drv, env key -> evaluation error, env key -> the realisation that built it).

    Nix 2.8's collector can delete a derivation that an evaluation running beside it found valid and
    returned (NixOS/nix#6757); Nix then cannot build it ("does not exist and cannot be created"). Such
    envs are evaluated and built once more, which writes their derivations again."""
    drvs, failed = _instantiate(envs, default_nix, nix, roots)
    if not drvs:
        return drvs, failed, {}
    outcome = _realise_rooted(list(drvs.values()), nix, roots)
    made = dict.fromkeys(drvs, outcome)
    lost = [] if outcome.ok else [key for key, drv in drvs.items() if not nix.is_valid(Path(drv))]
    if lost:
        again = roots / "again"
        again.mkdir()
        for key in lost:
            del drvs[key], made[key]
        try:
            more, more_failed = _instantiate([e for e in envs if e.spec.key in lost], default_nix, nix, again)
        except BuildError as exc:
            more, more_failed = {}, dict.fromkeys(lost, exc.message)
        failed.update(more_failed)
        if more:
            second = _realise_rooted(list(more.values()), nix, again)
            drvs.update(more)
            made.update(dict.fromkeys(more, second))
    return drvs, failed, made


def _build(
    envs: Sequence[RenderedEnv], *, work_dir: Path, nix: NixBackend, state: State, keys: Sequence[str] | None
) -> dict[str, RealisedEnv | NixtoxError]:
    for env in envs:
        write_env_file(work_dir, env.spec.key, env_text(env))
    default_nix = write_default_nix(work_dir, keys)
    with temporary_roots() as roots:
        try:
            drvs, failed, made = _instantiate_and_realise(envs, default_nix, nix, roots)
        except BuildError as exc:
            return {e.spec.key: exc for e in envs}
        outcomes: dict[str, RealisedEnv | NixtoxError] = {key: BuildError(why) for key, why in failed.items()}
        where: dict[str, str] = {}
        for realisation in {id(o): o for o in made.values()}.values():  # one or two Nix calls
            where.update(built_on(realisation.stderr))
        by_key = {e.spec.key: e for e in envs}
        for key, drv in drvs.items():
            out = nix.output_path(drv)
            # a failed call (--keep-going) may still have built this one: ask the store Nix uses
            # (NIXTOX_NIX_STORE may be another one); a planning backend (`nixtox cache status`)
            # realises nothing, so its success alone does not say it
            if not made[key].outputs_valid and not nix.is_valid(out):
                outcomes[key] = BuildError(failure_reason(drv, nix, made[key]))
                continue
            nix.add_root(out, _gcroot(work_dir, key, state.store))  # lasting root, while the temporary holds
            env = by_key[key]
            state.envs[key] = EnvState(env.fingerprint, str(out), drv, env.spec.label)
            outcomes[key] = RealisedEnv(env, out, drv, cached=False, built_on=where.get(drv))
    return outcomes


def failure_reason(drv: str, nix: NixBackend, outcome: RealiseOutcome | None) -> str:
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


def build_kind(
    envs: Sequence[RenderedEnv],
    kind: str,
    *,
    work_dir: Path,
    nix: NixBackend,
    shared_files: Mapping[str, str] | None = None,
    keys: Sequence[str] | None = None,
    store: str = "",
) -> dict[str, Path | NixtoxError]:
    """Build each env's ``kinds.<key>.<kind>`` (an image, a check run): one Nix call, no fast path and no
    state (the kind's output is not the env's); each output is rooted as ``gcroots/<key>.<kind>``."""
    for name, text in (shared_files or {}).items():
        write_work_file(work_dir, name, text)
    for env in envs:
        write_env_file(work_dir, env.spec.key, env_text(env))
    default_nix = write_default_nix(work_dir, keys)
    targets = [dataclasses.replace(env, attr=f"kinds.{env.spec.key}.{kind}") for env in envs]
    with temporary_roots() as roots:
        try:
            drvs, failed, made = _instantiate_and_realise(targets, default_nix, nix, roots)
        except BuildError as exc:
            return {e.spec.key: exc for e in envs}
        outcomes: dict[str, Path | NixtoxError] = {key: BuildError(why) for key, why in failed.items()}
        for key, drv in drvs.items():
            out = nix.output_path(drv)
            if not nix.is_valid(out):
                outcomes[key] = BuildError(failure_reason(drv, nix, made[key]))
                continue
            nix.add_root(out, _gcroot(work_dir, f"{key}.{kind}", store))
            outcomes[key] = out
    return outcomes
