"""Making nixtox cold: find what a project's envs put in the store and delete what is not alive.

Two levels (see docs/benchmarks.md):

* ``wheels-in-store``: the env outputs and everything built from the project (package wheels, sdists)
  go; fixed-output paths (the fetched wheels/sdists from PyPI) stay.
* ``empty-store``: also the fixed-output paths, the ``.drv`` files and the sources of the whole closure
  of the env derivations, so nixtox starts from a store that has none of its inputs.

Only dead paths are deleted: paths another project (or another engineer's checkout) roots stay, and
the report counts them (``kept_alive``) because they make a "cold" run warmer than it claims.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ClosureInfo", "StoreReset", "collect_closure", "delete_dead", "parse_drv_outputs"]

_ALIVE = re.compile(r"Cannot delete path '(?P<path>/nix/store/[^']+)' since it is still alive")
_OUTPUT = re.compile(
    r'\("(?P<name>[^"]+)","(?P<path>/nix/store/[^"]+)","(?P<algo>[^"]*)","(?P<hash>[^"]*)"\)'
)


def parse_drv_outputs(drv_text: str) -> list[tuple[str, bool]]:
    """(output path, is fixed-output) pairs from a .drv file's ATerm text."""
    head = drv_text.split("],[", 1)[0]
    return [(m["path"], bool(m["algo"])) for m in _OUTPUT.finditer(head)]


@dataclass(frozen=True)
class ClosureInfo:
    #: outputs built from the project or derived from other outputs (envs, package wheels)
    built: frozenset[str]
    #: fixed-output paths (downloads: wheels, sdists, helper wheels)
    fetched: frozenset[str]
    #: .drv files and source paths of the closure
    recipes: frozenset[str]


@dataclass(frozen=True)
class StoreReset:
    deleted: int
    kept_alive: int
    missing_fetched: int
    #: names (hash stripped) of the paths that stayed because something else roots them
    kept_alive_names: tuple[str, ...] = ()
    #: how many of those are outputs (envs, wheels) rather than .drv files and sources: these make the
    #: sample warmer than its cold level claims
    kept_alive_outputs: int = 0


def _nix_store(*args: str) -> str:
    done = subprocess.run(["nix-store", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"nix-store {' '.join(args[:2])} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def gcroot_targets(work_dir: Path) -> list[str]:
    roots = work_dir / "gcroots"
    if not roots.is_dir():
        return []
    out = []
    for link in sorted(roots.rglob("*")):
        if link.is_symlink():
            target = str(link.resolve())
            if target.startswith("/nix/store/") and Path(target).exists():
                out.append(target)
    return out


def roots_cover(work_dir: Path, envs: Sequence[str]) -> bool:
    """Whether every env has a GC root (root keys are the env name, or ``name-<format>``)."""
    roots = work_dir / "gcroots"
    if not roots.is_dir():
        return False
    keys = [p.name for p in roots.iterdir() if p.is_symlink()]
    return bool(keys) and all(any(k == e or k.startswith(f"{e}-") for k in keys) for e in envs)


def collect_closure(work_dir: Path) -> ClosureInfo:
    """What the envs rooted under ``work_dir/gcroots`` were built from (query before deleting roots)."""
    outputs = gcroot_targets(work_dir)
    drvs: set[str] = set()
    for path in outputs:
        deriver = _nix_store("-q", "--deriver", path).strip()
        if deriver.endswith(".drv") and Path(deriver).exists():
            drvs.add(deriver)
        elif path.endswith(".drv"):
            drvs.add(path)
    built: set[str] = set(p for p in outputs if not p.endswith(".drv"))
    # and what they refer to (layers, pytest's bytecode): a path's recorded deriver can be an older
    # derivation with the same outputs, whose closure names other build inputs
    if built:
        built |= set(_nix_store("-qR", *sorted(built)).split())
    fetched: set[str] = set()
    recipes: set[str] = set()
    if drvs:
        for item in _nix_store("-qR", *sorted(drvs)).split():
            recipes.add(item)
            if item.endswith(".drv"):
                for out, fixed in parse_drv_outputs(Path(item).read_text(encoding="utf-8")):
                    (fetched if fixed else built).add(out)
    return ClosureInfo(frozenset(built), frozenset(fetched), frozenset(recipes - built - fetched))


def dead_paths() -> set[str]:
    return set(_nix_store("--gc", "--print-dead").split())


def delete_dead(paths: set[str]) -> tuple[int, list[str]]:
    """Delete the dead ones among ``paths``; (how many deleted, the ones kept because alive)."""
    present = {p for p in paths if Path(p).exists()}
    if not present:
        return 0, []
    garbage = dead_paths()
    dead = present & garbage
    # Nix refuses to delete a path that a valid path refers to, even a dead one (an env of an earlier run
    # referring to a shared layer): those dead referrers go too, as a collection would delete them
    if dead:
        dead |= garbage & set(_nix_store("--query", "--referrers-closure", *sorted(dead)).split())
    # Nix stops at the first path it finds alive (a concurrent process rooted it after --print-dead, or
    # a recipe kept for a live output) and deletes nothing: drop that one and try again, as often as it
    # takes (a fixed number of tries could end with nothing deleted and the sample warm)
    for _ in range(len(dead) + 1):
        if not dead:
            break
        try:
            _nix_store("--delete", *sorted(dead))
            break
        except RuntimeError as exc:
            revived = _ALIVE.search(str(exc))
            if revived is None or revived["path"] not in dead:
                raise
            dead.discard(revived["path"])
    return len(dead & present), sorted(present - dead)


def reset_nixtox(project: Path, *, empty_store: bool) -> StoreReset:
    """``rm -rf .nixtox`` plus the store deletions of the chosen cold level."""
    work_dir = project / ".nixtox"
    closure = (
        collect_closure(work_dir) if work_dir.exists() else ClosureInfo(frozenset(), frozenset(), frozenset())
    )
    shutil.rmtree(work_dir, ignore_errors=True)
    targets = set(closure.built)
    if empty_store:
        targets |= closure.fetched | closure.recipes
    # the envs' interpreter is the host's, copied into the store once per machine (an import nixtox
    # roots): it stays, as the host interpreters stay for every tool
    targets = {p for p in targets if not _is_interpreter_copy(p)}
    deleted, alive = delete_dead(targets)
    missing = sum(1 for p in closure.fetched if not Path(p).exists())
    names = tuple(Path(p).name.split("-", 1)[-1] for p in alive)
    outputs = sum(1 for p in alive if p in closure.built or p in closure.fetched)
    return StoreReset(deleted, len(alive), missing, kept_alive_names=names, kept_alive_outputs=outputs)


def _is_interpreter_copy(path: str) -> bool:
    name = Path(path).name.split("-", 1)[-1].removesuffix(".drv")
    return name.startswith(("cpython-", "pypy-")) and name.split("-", 1)[1][:1].isdigit()


def fetched_present(project: Path) -> bool:
    """Whether every fixed-output path of the project's current envs is valid (for ``wheels-in-store``)."""
    work_dir = project / ".nixtox"
    if not work_dir.exists():
        return False
    closure = collect_closure(work_dir)
    return bool(closure.built) and all(Path(p).exists() for p in closure.fetched)
