"""``.nixtox/state.json``: per Nix store and env, the fingerprint of its inputs and the store path they gave
(``envs``), and for envs whose commands ran inside Nix the result path of their last run (``checks``).

Readers and writers hold ``.nixtox/lock`` (an flock), and writes are atomic (temp file + rename), so two
nixtox processes in one project never see a half-written state. The entries of the default store are
``envs``; those of another store (``--store DIR``, ``$NIXTOX_NIX_STORE``) are under ``stores`` keyed by
the store, so building into a fresh store never trusts what was built in another one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nixtox._files import write_atomically
from nixtox.errors import NixtoxError

__all__ = [
    "CheckState",
    "EnvState",
    "State",
    "gcroot_dir",
    "locked_work_dir",
    "selected_store",
    "store_file",
    "store_has",
]

_VERSION = 1
STORE_VAR = "NIXTOX_NIX_STORE"


def selected_store(given: str | None = None) -> str:
    """The Nix store this run uses: ``--store``, else ``$NIXTOX_NIX_STORE``; "" = the default store
    (the same precedence as the cache settings)."""
    return (given or os.environ.get(STORE_VAR, "")).strip()


def gcroot_dir(work_dir: Path, store: str = "") -> Path:
    """Where the envs' GC roots live: ``gcroots/`` for the default store, one directory per other store."""
    if not store:
        return work_dir / "gcroots"
    return work_dir / "stores" / hashlib.sha256(store.encode()).hexdigest()[:16] / "gcroots"


def store_file(store: str, path: str) -> Path:
    """Where a store path's files are on this file system: a local store under a root directory keeps
    them below it; the default store (and one Nix reaches by URL) at the path itself."""
    if not store or "://" in store or "?" in store:
        return Path(path)
    return Path(store) / path.lstrip("/")


def store_has(store: str, path: str) -> bool | None:
    """Whether ``path`` exists in ``store`` as far as the file system tells (None: it cannot tell)."""
    if not store:
        return Path(path).exists()
    if "://" in store or "?" in store:
        return None  # a store URL: only Nix knows
    return (Path(store) / path.lstrip("/")).exists()  # a local store under a root directory


@dataclass(frozen=True)
class EnvState:
    fingerprint: str
    store_path: str
    drv_path: str = ""
    label: str = ""


@dataclass(frozen=True)
class CheckState:
    """The last in-Nix run of an env (``run_in = nix``): the fingerprint of the check it built (the env,
    the source, the commands, the settings), its result path, and the env it ran in."""

    fingerprint: str
    result_path: str
    drv_path: str = ""
    env_path: str = ""
    env_drv: str = ""
    label: str = ""


def _parse_envs(raw: object) -> dict[str, EnvState]:
    if not isinstance(raw, dict):
        raise TypeError("envs is not a table")
    return {str(key): EnvState(**value) for key, value in raw.items()}


def _parse_checks(raw: object) -> dict[str, CheckState]:
    if not isinstance(raw, dict):
        raise TypeError("checks is not a table")
    return {str(key): CheckState(**value) for key, value in raw.items()}


@dataclass
class State:
    path: Path
    envs: dict[str, EnvState]
    #: the store ``envs`` belong to ("" = the default store)
    store: str = ""
    #: the entries of the other stores, kept as read (``{"envs": …, "checks": …}`` per store)
    others: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, CheckState] = field(default_factory=dict)

    @classmethod
    def read(cls, work_dir: Path, store: str = "") -> State:
        """The state of ``store``; a missing, unreadable or damaged file only costs a Nix call."""
        path = work_dir / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != _VERSION:
                raise ValueError("not a state of this version")
            stores = data.get("stores", {})
            tables = {"": {"envs": data.get("envs", {}), "checks": data.get("checks", {})}}
            tables |= {key: value for key, value in stores.items() if isinstance(value, dict)}
            mine = tables.pop(store, {})
            envs, checks = _parse_envs(mine.get("envs", {})), _parse_checks(mine.get("checks", {}))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls(path, {}, store)
        return cls(path, envs, store, tables, checks)

    def write(self) -> None:
        mine = {
            "envs": {key: asdict(value) for key, value in sorted(self.envs.items())},
            "checks": {key: asdict(value) for key, value in sorted(self.checks.items())},
        }
        tables = {**self.others, self.store: mine}
        default = tables.pop("", {})
        data: dict[str, Any] = {"version": _VERSION, "envs": default.get("envs", {})}
        if default.get("checks"):
            data["checks"] = default["checks"]
        if tables:
            data["stores"] = {
                key: {name: entries for name, entries in table.items() if entries or name == "envs"}
                for key, table in sorted(tables.items())
            }
        try:
            write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            raise NixtoxError(f"cannot write {self.path}: {exc.strerror}") from None


@contextlib.contextmanager
def locked_work_dir(work_dir: Path) -> Iterator[None]:
    """Hold the project's work-dir lock; a second nixtox waits here for the first to finish."""
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        handle = open(work_dir / "lock", "a+")  # noqa: SIM115 - held across the yield
    except OSError as exc:
        raise NixtoxError(
            f"cannot write {work_dir}: {exc.strerror}; nixtox keeps its state, rendered Nix files and GC"
            " roots there, so the project directory must be writable"
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
