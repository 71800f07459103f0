"""The lock stage: every requirement of an env pinned to one file (url + sha256) for its interpreter.

``lock_envs`` is what a run calls (reuses current ``nixtox.lock`` entries, relocks changed ones, writes the
file when something changed); ``write_lock`` is ``nixtox lock``; ``lock_env`` locks one env.
"""

from __future__ import annotations

from nixtox.lock._core import (
    DEFAULT_INDEX_URL,
    Locker,
    effective_index_url,
    lock_env,
    lock_envs,
    verify_lock_entry,
    write_lock,
)
from nixtox.lock._engines import (
    PipEngine,
    ResolutionError,
    ResolverEngine,
    ResolveRequest,
    UvEngine,
    default_engine,
)
from nixtox.lock._files import DistFile, ResolvedPackage, choose_file
from nixtox.lock._lockfile import LOCK_FILE_NAME, LockEntry, LockFile
from nixtox.lock._requirements import EnvRequirements, env_requirements, interpreter_identity, lock_key

__all__ = [
    "DEFAULT_INDEX_URL",
    "LOCK_FILE_NAME",
    "DistFile",
    "EnvRequirements",
    "LockEntry",
    "LockFile",
    "Locker",
    "PipEngine",
    "ResolutionError",
    "ResolveRequest",
    "ResolvedPackage",
    "ResolverEngine",
    "UvEngine",
    "choose_file",
    "default_engine",
    "effective_index_url",
    "env_requirements",
    "interpreter_identity",
    "lock_env",
    "lock_envs",
    "lock_key",
    "verify_lock_entry",
    "write_lock",
]
