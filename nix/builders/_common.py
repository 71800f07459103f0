"""What nixtox's Nix builders share: the build's environment, wheels, venvs and installing into them.

Stdlib only, plus the pinned tool wheels (installer, pyproject-hooks, packaging, tomli) that the
derivation lists in ``nixtoxToolsPath`` and ``prepare()`` puts on ``sys.path``. Runs on every
interpreter nixtox supports (3.8+), so no newer syntax or stdlib API.
"""

# Derivation attributes reach a builder as camelCase environment variables (SIM112); the pinned tools
# are imported late, once prepare() has put their wheels on sys.path (PLC0415).
# ruff: noqa: SIM112, PLC0415

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

SOURCE_DATE_EPOCH = 315532800  # 1980-01-01, the earliest date a zip file can hold
_STORE_HASH = re.compile(r"^[0-9a-df-np-sv-z]{32}-")


class BuilderError(Exception):
    """A known failure: printed as one final ``nixtox:`` line, without a traceback."""


def prepare() -> str:
    """Set up the process environment every builder needs; return the temporary directory."""
    tmp = os.environ.get("TMPDIR") or os.environ.get("NIX_BUILD_TOP") or "/tmp"
    os.environ["HOME"] = tmp
    os.environ.setdefault("SOURCE_DATE_EPOCH", str(SOURCE_DATE_EPOCH))
    tools = os.environ.get("nixtoxToolsPath", "")
    for entry in reversed([p for p in tools.split(":") if p]):
        sys.path.insert(0, entry)
    os.umask(0o022)
    return tmp


def log(message: str) -> None:
    print(f"nixtox: {message}", file=sys.stderr, flush=True)


def run_main(main, what: str) -> None:  # type: ignore[no-untyped-def]
    """Run a builder's ``main()``; known errors end the build with one clear last line."""
    try:
        main()
    except BuilderError as exc:
        sys.stdout.flush()
        print(f"nixtox: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception:
        import traceback

        traceback.print_exc()
        print(f"nixtox: internal error in the {what} builder (a bug in nixtox)", file=sys.stderr, flush=True)
        sys.exit(2)


def dist_filename(path: str, filename: str | None) -> str:
    if filename:
        return filename
    base = os.path.basename(path)
    return _STORE_HASH.sub("", base) if path.startswith(os.environ.get("NIX_STORE", "/nix/store")) else base


def resolve_wheels(entries_json: str, linkdir: str) -> list[tuple[str, str]]:
    """``[(path, filename)]`` for each ``{path, filename}`` entry: a wheel file under its real name.

    pypa/installer parses the wheel's file name, so every wheel is reached through a symlink with the
    proper name (a store path carries a hash prefix, and a sanitised name may differ). A ``buildDist``
    output is a directory holding exactly one wheel.
    """
    os.makedirs(linkdir, exist_ok=True)
    wheels = []
    for index, entry in enumerate(json.loads(entries_json)):
        path = entry["path"]
        if os.path.isdir(path):
            found = sorted(f for f in os.listdir(path) if f.endswith(".whl"))
            if len(found) != 1:
                raise BuilderError(f"{path} should hold exactly one .whl, found {found or 'none'}")
            filename = found[0]
            path = os.path.join(path, filename)
        else:
            filename = dist_filename(path, entry.get("filename"))
        if not filename.endswith(".whl"):
            raise BuilderError(f"{filename} ({path}) is not a wheel; build sdists with buildDist first")
        # one directory per entry: two entries may carry the same file name
        entry_dir = os.path.join(linkdir, str(index))
        os.makedirs(entry_dir)
        link = os.path.join(entry_dir, filename)
        os.symlink(path, link)
        wheels.append((link, filename))
    return wheels


def create_venv(python: str, target: str) -> str:
    """``python -m venv --without-pip target``; return the venv's interpreter."""
    proc = subprocess.run(
        [python, "-m", "venv", "--without-pip", target],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        raise BuilderError(f"creating a venv with {python} failed (exit {proc.returncode})")
    return os.path.join(target, "bin", "python")


def create_venv_here(target: str) -> dict[str, str]:
    """A venv of the interpreter running this builder at ``target``, made in-process (no subprocess:
    this builder is that interpreter); return its install scheme, as ``venv_scheme`` does."""
    import sysconfig
    import venv

    venv.EnvBuilder(symlinks=True, with_pip=False).create(target)
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else "posix_prefix"
    paths = sysconfig.get_paths(scheme, vars={"base": target, "platbase": target})
    result = {key: paths[key] for key in ("purelib", "platlib", "scripts", "data")}
    pyver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    result["headers"] = os.path.join(target, "include", "site", f"python{pyver}")
    return result


def venv_scheme(venv_python: str, prefix: str) -> dict[str, str]:
    """The install scheme of a venv: its own sysconfig paths, headers as pip puts them in a venv."""
    code = (
        "import json, sys, sysconfig\n"
        "paths = sysconfig.get_paths()\n"
        "keys = ('purelib', 'platlib', 'scripts', 'data')\n"
        "result = dict((k, paths[k]) for k in keys)\n"
        "result['pyver'] = '%d.%d' % sys.version_info[:2]\n"
        "print(json.dumps(result))\n"
    )
    out = subprocess.run([venv_python, "-c", code], stdout=subprocess.PIPE, check=True, text=True)
    paths = json.loads(out.stdout)
    pyver = paths.pop("pyver")
    for key, value in paths.items():
        if not os.path.realpath(value).startswith(os.path.realpath(prefix)):
            raise BuilderError(f"the venv's {key} directory {value} lies outside the venv {prefix}")
    paths["headers"] = os.path.join(prefix, "include", "site", f"python{pyver}")
    return paths


class Installer:
    """Installs wheels into one scheme and remembers which wheel wrote which file."""

    def __init__(
        self, scheme: dict[str, str], interpreter: str, compile_bytecode: bool, self_reference: str = ""
    ) -> None:
        from installer.destinations import SchemeDictionaryDestination

        self.scheme = scheme
        self.self_reference = self_reference
        self.owners: dict[str, str] = {}
        self.installed: list[dict[str, str]] = []
        self.destination = SchemeDictionaryDestination(
            scheme,
            interpreter=interpreter,
            script_kind="posix",
            bytecode_optimization_levels=(0,) if compile_bytecode else (),
        )

    def install(self, wheel_path: str, filename: str) -> None:
        from installer import install
        from installer.sources import WheelFile

        headers = self.scheme["headers"]
        with WheelFile.open(wheel_path) as source:
            name = source.distribution
            # pip's venv layout: headers of a distribution go to include/site/pythonX.Y/<name>
            self.destination.scheme_dict = dict(self.scheme, headers=os.path.join(headers, name))
            try:
                install(source, self.destination, additional_metadata={"INSTALLER": b"nixtox\n"})
            except FileExistsError as exc:
                raise BuilderError(self._conflict(str(exc), filename)) from None
            record = os.path.join(self.scheme["purelib"], source.dist_info_dir, "RECORD")
            if not os.path.exists(record):
                record = os.path.join(self.scheme["platlib"], source.dist_info_dir, "RECORD")
            self._remember(record, filename)
            if self.self_reference:
                blank_self_referencing_hashes(record, self.self_reference)
            self.installed.append(read_metadata(os.path.dirname(record)))

    def _remember(self, record: str, filename: str) -> None:
        import csv

        base = os.path.dirname(os.path.dirname(record))
        with open(record, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                if row:
                    self.owners[os.path.normpath(os.path.join(base, row[0]))] = filename

    def _conflict(self, message: str, filename: str) -> str:
        path = message.split(": ", 1)[-1]
        owner = self.owners.get(os.path.normpath(path), "an earlier wheel")
        return f"conflicting file {path}: written by both {owner} and {filename}"


def blank_self_referencing_hashes(record: str, prefix: str) -> None:
    """Empty the RECORD hash of every installed file whose content holds ``prefix`` (the output path).

    ``nix-build --check`` builds at another path and rewrites it to the real one afterwards, so a hash
    over content that names the output path (a console script's shebang) differs on every check. An
    empty hash is valid in RECORD (PEP 376), and the output stays bit-for-bit reproducible.
    """
    import csv
    import io

    base = os.path.dirname(os.path.dirname(record))
    needle = prefix.encode()
    with open(record, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    changed = False
    for row in rows:
        if len(row) >= 2 and row[1]:
            path = os.path.join(base, row[0])
            with open(path, "rb") as f:
                if needle in f.read():
                    row[1] = ""
                    changed = True
    if changed:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        with open(record, "w", encoding="utf-8", newline="") as f:
            f.write(buffer.getvalue())


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_metadata(dist_info: str) -> dict[str, str]:
    """Name and version from a dist-info directory's METADATA."""
    from email.parser import HeaderParser

    with open(os.path.join(dist_info, "METADATA"), encoding="utf-8") as f:
        headers = HeaderParser().parse(f)
    return {"name": str(headers["Name"]), "version": str(headers["Version"])}


def write_json(path: str, value: object) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def copy_writable_tree(src: str, dst: str) -> None:
    """Copy a (read-only, store) tree to a writable one; every mtime set to SOURCE_DATE_EPOCH."""
    shutil.copytree(src, dst, symlinks=True, copy_function=shutil.copy)
    make_writable(dst)


def make_writable(tree: str) -> None:
    """Give the owner write access everywhere in ``tree``, and every mtime SOURCE_DATE_EPOCH."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH))
    for dirpath, _dirnames, filenames in os.walk(tree, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o644)
                os.utime(path, (epoch, epoch))
        os.chmod(dirpath, 0o755)
        os.utime(dirpath, (epoch, epoch))
