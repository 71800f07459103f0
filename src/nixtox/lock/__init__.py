"""The lock stage: every requirement of an env pinned to one file (url + sha256) for its interpreter.

``lock_stage`` is the one driver (``nixtox run``, ``nixtox lock``, ``nixtox export``): it reuses current
``nixtox.lock`` entries, relocks changed ones and writes the file when something changed, as its
``LockPolicy`` says. An env with tox-uv's ``uv-venv-lock-runner`` or tox's ``pylock`` takes its runtime
pins from ``uv.lock`` / the PEP 751 file instead of the resolver (``existing_lock``).
"""

from __future__ import annotations

from nixtox.lock._core import (
    Locker,
    LockPolicy,
    Pinned,
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
from nixtox.lock._existing import PinSource, existing_lock
from nixtox.lock._files import DistFile, ResolvedPackage, choose_file
from nixtox.lock._index import DEFAULT_INDEX_URL, IndexConfig, index_config
from nixtox.lock._lockfile import LOCK_FILE_NAME, LockEntry, LockFile
from nixtox.lock._markers import patch_sensitive
from nixtox.lock._pylock import Pylock, export_pylocks, pylock_name, pylock_text
from nixtox.lock._requirements import (
    env_requirements,
    interpreter_identity,
    interpreter_matches,
    interpreter_series,
    lock_key,
    locked_for,
)
from nixtox.lock._uvlock import UvLock, UvSelection

__all__ = [
    "DEFAULT_INDEX_URL",
    "LOCK_FILE_NAME",
    "DistFile",
    "IndexConfig",
    "LockEntry",
    "LockFile",
    "LockPolicy",
    "Locker",
    "PinSource",
    "Pinned",
    "PipEngine",
    "Pylock",
    "ResolutionError",
    "ResolveRequest",
    "ResolvedPackage",
    "ResolverEngine",
    "UvEngine",
    "UvLock",
    "UvSelection",
    "choose_file",
    "default_engine",
    "effective_index_url",
    "env_requirements",
    "existing_lock",
    "export_pylocks",
    "index_config",
    "interpreter_identity",
    "interpreter_matches",
    "interpreter_series",
    "lock_key",
    "lock_stage",
    "locked_for",
    "patch_sensitive",
    "pylock_name",
    "pylock_text",
    "verify_lock_entry",
]
