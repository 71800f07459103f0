"""tox's env directory layout, over an env that lives in the store.

``{env_dir}`` (``.nixtox/envs/<key>``) is a real directory that looks like the venv tox would have made:
``bin``, ``lib``, ``include`` and ``pyvenv.cfg`` are links into the env's store path, so
``{env_python}`` (``<env_dir>/bin/python``) runs the env's interpreter with ``sys.prefix`` at
``{env_dir}``, and ``site-packages`` links to the env's purelib (``{env_site_packages_dir}``: a stable
path, since the interpreter's version is not known when the config is read). ``tmp`` (``{env_tmp_dir}``)
is emptied and made again before each run and ``log`` (``{env_log_dir}``) exists, as tox does; so do
``{work_dir}`` and ``{temp_dir}``, and the work dir carries tox's ``.gitignore`` and ``CACHEDIR.TAG``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SITE_PACKAGES", "env_lock", "link_env", "prepare_env_dir", "prepare_work_dir"]

#: the name of ``{env_site_packages_dir}`` inside ``{env_dir}``
SITE_PACKAGES = "site-packages"
_LINKED = ("bin", "lib", "lib64", "include", "pyvenv.cfg")
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by nixtox.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/spec.html\n"
)


@contextlib.contextmanager
def env_lock(env_dir: Path) -> Iterator[None]:
    """Hold the env's ``file.lock`` (tox's name) while it runs: two nixtox processes that run the same
    env take turns, so one never empties the other's ``{env_tmp_dir}`` under its commands."""
    env_dir.mkdir(parents=True, exist_ok=True)
    with open(env_dir / "file.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _link(link: Path, target: Path) -> None:
    """``link`` -> ``target``, replaced atomically when it points elsewhere (or is not a link)."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    # a name of this process and thread: two nixtox runs of one env at once each make their own link
    tmp = link.with_name(f".{link.name}.{os.getpid()}-{threading.get_ident()}.nixtox-link")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def _site_packages(store_path: Path) -> Path | None:
    found = sorted(store_path.glob("lib/python*/site-packages"))
    return found[0] if found else None


def prepare_work_dir(work_dir: Path) -> None:
    """``{work_dir}`` and ``{temp_dir}``, kept out of git and of backups as tox keeps ``.tox``."""
    (work_dir / ".tmp").mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", "*\n"), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
        path = work_dir / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")


def prepare_env_dir(env_dir: Path, store_path: Path) -> None:
    """Make ``env_dir`` tox's layout over ``store_path`` and give the run a fresh, empty ``tmp``; the
    caller holds ``env_lock(env_dir)`` when a run follows."""
    env_dir.mkdir(parents=True, exist_ok=True)
    prepare_work_dir(env_dir.parent.parent)
    link_env(env_dir, store_path)
    tmp = env_dir / "tmp"
    if tmp.is_symlink() or tmp.is_file():
        tmp.unlink(missing_ok=True)
    elif tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)  # another run of this env may be emptying it too
    tmp.mkdir(exist_ok=True)
    (env_dir / "log").mkdir(exist_ok=True)


def link_env(env_dir: Path, store_path: Path) -> None:
    """The venv-shaped links of ``env_dir`` into ``store_path`` (``bin``, ``lib``, ``pyvenv.cfg``,
    ``site-packages``), replacing the links of an earlier build (``nixtox devenv`` makes only these)."""
    env_dir.mkdir(parents=True, exist_ok=True)
    for name in _LINKED:
        target = store_path / name
        link = env_dir / name
        if os.path.lexists(target):
            _link(link, target)
        elif link.is_symlink():
            link.unlink()
    purelib = _site_packages(store_path)
    if purelib is not None:
        _link(env_dir / SITE_PACKAGES, purelib)
