"""``.nixtox/state.json``: per env, the fingerprint of its inputs and the store path they gave.

Readers and writers hold ``.nixtox/lock`` (an flock), and writes are atomic (temp file + rename), so two
nixtox processes in one project never see a half-written state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from nixtox._files import write_atomically

__all__ = ["EnvState", "State", "locked_work_dir"]

_VERSION = 1


@dataclass(frozen=True)
class EnvState:
    fingerprint: str
    store_path: str
    drv_path: str = ""
    label: str = ""


@dataclass
class State:
    path: Path
    envs: dict[str, EnvState]

    @classmethod
    def read(cls, work_dir: Path) -> State:
        path = work_dir / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                raise ValueError("old state version")
            envs = {key: EnvState(**value) for key, value in data["envs"].items()}
        except (OSError, ValueError, TypeError, KeyError):
            envs = {}  # a missing or unreadable state only costs a Nix call
        return cls(path, envs)

    def write(self) -> None:
        data = {
            "version": _VERSION,
            "envs": {key: asdict(value) for key, value in sorted(self.envs.items())},
        }
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")


@contextlib.contextmanager
def locked_work_dir(work_dir: Path) -> Iterator[None]:
    """Hold the project's work-dir lock; a second nixtox waits here for the first to finish."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / "lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
