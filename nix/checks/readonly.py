"""Start test commands with the Nix store read-only, so no command can change a built store path.

Envs link the files of shared per-wheel layers, so one write into an env's ``site-packages``
changes every env (and every cache) holding that layer. Where the store is writable for us (root
without a daemon, or a single-user install owned by us), each command starts in a private mount
namespace in which the store is bind-mounted read-only: ``unshare(CLONE_NEWNS)`` and ``mount`` through
ctypes in the child between fork and exec (a few microseconds; the ``unshare`` program as a wrapper
costs two extra execs per command). With a daemon the store belongs to root and is read-only for us
already. Where neither holds (no CAP_SYS_ADMIN, e.g. an unprivileged container), commands run
unprotected after one warning.

Stdlib only and Python 3.8+: host runs load it from the Nix library (``nixtox.run._tox``), and the
derivations that run an env's commands (``mkCheck``) use it beside ``tox_commands.py``, so the store is
read-only for test commands on the host and inside Nix builds alike.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: subscripting collections.abc.Callable needs 3.9
    from collections.abc import Callable

__all__ = ["read_only_expected", "start_protected", "store_dir", "store_needs_protection", "warning_once"]

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_STATE = {"namespace_failed": False, "warned": False}
_STATE_LOCK = threading.Lock()


def store_dir() -> str:
    """The store test commands see (``NIX_STORE_DIR`` as Nix reads it, else ``/nix/store``)."""
    return os.environ.get("NIX_STORE_DIR") or "/nix/store"


def store_needs_protection(store: str | None = None) -> bool:
    """Whether this process could write into the store: root (without a daemon the store is a plain
    directory to root), or the owner of a single-user store."""
    store = store or store_dir()
    try:
        info = os.stat(store)
    except OSError:
        return False  # no store on this machine: nothing to protect
    if not os.access(store, os.W_OK):
        return False  # mounted read-only already (NixOS, or inside our own namespace)
    return os.geteuid() == 0 or info.st_uid == os.geteuid()


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    """The C library this process runs on (the symbols of the process itself: no ``ldconfig`` call)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "unshare"):  # a statically linked interpreter: look the library up
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return libc


def _readonly_preexec(store: str) -> Callable[[], None]:
    """A function for the child between fork and exec: private mount namespace, store read-only.

    Everything it needs is prepared here in the parent: the child only calls three libc functions."""
    libc = _libc()
    unshare, mount = libc.unshare, libc.mount
    root, target, none = b"/", os.fsencode(store), None

    def preexec() -> None:
        if unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        # private first: a bind mount made under shared propagation would appear in the parent's
        # namespace too, making the whole machine's store read-only
        if mount(none, root, none, MS_REC | MS_PRIVATE, none) != 0:
            raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
        if mount(target, target, none, MS_BIND | MS_REC, none) != 0:
            raise OSError(ctypes.get_errno(), "mount --bind store")
        if mount(none, target, none, MS_BIND | MS_REMOUNT | MS_RDONLY, none) != 0:
            raise OSError(ctypes.get_errno(), "mount -o remount,bind,ro store")

    return preexec


def warning_once(sink: Callable[[str], None], text: str) -> None:
    with _STATE_LOCK:
        if _STATE["warned"]:
            return
        _STATE["warned"] = True
    sink(text)


def _default_sink(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


_UNPROTECTED = (
    "nixtox: warning: cannot make the Nix store read-only for test commands here ({why}); a command that"
    " writes into an env's files changes the store paths every env shares. Run as a user with a Nix daemon,"
    " or where unshare(CLONE_NEWNS) is allowed (CAP_SYS_ADMIN)\n"
)


def start_protected(
    args: list[str], *, warn: Callable[[str], None] | None = None, **popen_kwargs: Any
) -> subprocess.Popen[Any]:
    """``subprocess.Popen(args, **popen_kwargs)``, the child unable to write into the Nix store.

    When the namespace cannot be made (the first failure tells), this and every later command of the
    process start unprotected, after one warning on ``warn`` (default: stderr)."""
    store = store_dir()
    if "preexec_fn" in popen_kwargs or not store_needs_protection(store):
        return subprocess.Popen(args, **popen_kwargs)
    if _STATE["namespace_failed"]:
        return subprocess.Popen(args, **_without_bytecode_writes(popen_kwargs))
    try:
        preexec = _readonly_preexec(store)
    except (OSError, AttributeError) as exc:  # no loadable libc, or one without unshare
        return _unprotected(args, warn, f"libc has no usable unshare/mount: {exc}", popen_kwargs)
    try:
        # the child runs only the three libc calls prepared above, so forking a threaded process is safe
        return subprocess.Popen(args, preexec_fn=preexec, **popen_kwargs)  # noqa: PLW1509
    except subprocess.SubprocessError:
        # "Exception occurred in preexec_fn": the child could not unshare or mount; nothing ran
        why = "unshare(CLONE_NEWNS) or the read-only bind mount was refused"
        return _unprotected(args, warn, why, popen_kwargs)


def _unprotected(
    args: list[str], warn: Callable[[str], None] | None, why: str, popen_kwargs: Any
) -> subprocess.Popen[Any]:
    with _STATE_LOCK:
        _STATE["namespace_failed"] = True
    warning_once(warn or _default_sink, _UNPROTECTED.format(why=why))
    return subprocess.Popen(args, **_without_bytecode_writes(popen_kwargs))


def read_only_expected() -> bool:
    """Whether the next command will see the store read-only: it is read-only already, or the private
    namespace has not failed yet. Callers that plan for it (no ``PYTHONPYCACHEPREFIX``: the env's own
    bytecode, read in place) are safe when the namespace then fails: see ``_without_bytecode_writes``."""
    return not store_needs_protection() or not _STATE["namespace_failed"]


def _without_bytecode_writes(popen_kwargs: Any) -> Any:
    """An unprotected command whose Python would write bytecode next to its sources, into the store
    (no ``PYTHONPYCACHEPREFIX`` elsewhere): ``PYTHONDONTWRITEBYTECODE=1``, so it writes none."""
    env = popen_kwargs.get("env")
    env = dict(os.environ if env is None else env)
    if env.get("PYTHONPYCACHEPREFIX"):
        return popen_kwargs
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return dict(popen_kwargs, env=env)
