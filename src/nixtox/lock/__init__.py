"""The lock stage: every requirement of an env pinned to one file (url + sha256) for its interpreter.

``lock_stage`` is the one driver (``nixtox run``, ``nixtox lock``, ``nixtox export``): it reuses current
``nixtox.lock`` entries, relocks changed ones and writes the file when something changed, as its
``LockPolicy`` says.
"""

from __future__ import annotations

from nixtox.lock._core import (
    Locker,
    LockPolicy,
    effective_index_url,
    lock_stage,
    verify_lock_entry,
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
from nixtox.lock._index import DEFAULT_INDEX_URL, IndexConfig, index_config
from nixtox.lock._lockfile import LOCK_FILE_NAME, LockEntry, LockFile
from nixtox.lock._requirements import env_requirements, interpreter_identity, lock_key

__all__ = [
    "DEFAULT_INDEX_URL",
    "LOCK_FILE_NAME",
    "DistFile",
    "IndexConfig",
    "LockEntry",
    "LockFile",
    "LockPolicy",
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
    "index_config",
    "interpreter_identity",
    "lock_key",
    "lock_stage",
    "verify_lock_entry",
]
