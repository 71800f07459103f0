"""Host interpreters imported into the store (interpreters/_store.py, nix/lib/interpreter.nix), for real.

The imported copy must run where the host prefix is not (a tmpfs hides /root/.pyenv), be the same path
when imported again, carry an env built on it to a remote builder that has no /root/.pyenv, and be
re-created by ``importedPython``'s fixed-output derivation in an empty store.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nixtox.interpreters import import_interpreter, resolve_interpreter
from nixtox.model import CoreConfig, Interpreter
from nixtox.render import python_expr
from tests.integration._machines import Machines, machines_fixture, path_info
from tests.integration.conftest import (
    NIX_LIBRARY,
    PINNED_WHEELS,
    PYENV_VERSIONS,
    expression_file,
    nix_argv,
    nix_string,
)

pytestmark = [pytest.mark.nix, pytest.mark.usefixtures("nix_required")]

machines = machines_fixture(1)
NONCE = uuid.uuid4().hex[:12]
MODULES = "ssl, sqlite3, ctypes, zlib, lzma, bz2, readline"
#: each module used, not only imported: a library that loads but misses a symbol fails here
USE_MODULES = (
    f"import sys, {MODULES}; ssl.create_default_context(); sqlite3.connect(':memory:').execute('select 1');"
    " ctypes.CDLL(None).getpid(); zlib.compress(b'x'); lzma.compress(b'x'); bz2.compress(b'x');"
    " print(sys.prefix)"
)


def _host(version: str, records: Path) -> Interpreter:
    if not sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}")):
        pytest.skip(f"no CPython {version} under {PYENV_VERSIONS}")
    core = CoreConfig(root=records, config_file=records / "tox.ini")
    interpreter = resolve_interpreter(version, core, env_name="store-python")
    assert str(interpreter.executable).startswith(str(PYENV_VERSIONS))
    return interpreter


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Interpreter]]:
    records = tmp_path_factory.mktemp("records")
    return {v: import_interpreter(_host(v, records), records=records) for v in ("3.12", "3.8")}


def _in_namespace(script: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``sh -c script`` in a private mount namespace (its mounts vanish with it)."""
    argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("version", ["3.12", "3.8"])
def test_the_copy_runs_where_the_host_prefix_is_hidden(
    imported: dict[str, Interpreter], version: str
) -> None:
    copy = imported[version].imported
    assert copy is not None
    python = copy.path / copy.executable
    hide = f"mount -t tmpfs tmpfs {PYENV_VERSIONS.parent} && "
    result = _in_namespace(f'{hide} ls -A {PYENV_VERSIONS.parent} | wc -l && {python} -I -c "{USE_MODULES}"')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", str(copy.path)]


def test_importing_again_gives_the_same_path(imported: dict[str, Interpreter], tmp_path: Path) -> None:
    # fresh records: the importer runs again and adds its copy again
    again = import_interpreter(_host("3.12", tmp_path), records=tmp_path)
    assert again.imported == imported["3.12"].imported


def test_the_copies_verify_and_reference_nothing(imported: dict[str, Interpreter]) -> None:
    for interpreter in imported.values():
        assert interpreter.imported is not None
        path = str(interpreter.imported.path)
        verify = subprocess.run(
            [*nix_argv("nix-store"), "--verify-path", path], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0, verify.stderr
        info = path_info(None, [path])[path]
        assert info["references"] == []
        assert info["ca"] == f"fixed:r:{interpreter.imported.nar_hash}"


def _env_expr(interpreter: Interpreter) -> str:
    # the nonce in the fingerprint makes every derivation new, so each one really builds on the machine
    python = python_expr(interpreter).replace(interpreter.fingerprint, f"{interpreter.fingerprint}-{NONCE}")
    url, sha256 = PINNED_WHEELS["iniconfig"]
    wheel = (
        f"lib.fetchDist {{ filename = {nix_string(url.rsplit('/', 1)[1])}; url = {nix_string(url)};"
        f" sha256 = {nix_string(sha256)}; }}"
    )
    return (
        f"let\n  lib = import {NIX_LIBRARY} {{ }};\n  python = {python};\nin\n"
        f'lib.mkEnv {{ name = "store-python-env"; inherit python; wheels = [ ({wheel}) ]; }}\n'
    )


def test_an_env_on_the_copy_builds_on_a_machine_without_pyenv(
    imported: dict[str, Interpreter], machines: Machines
) -> None:
    (machine,) = machines
    interpreter = imported["3.12"]
    assert interpreter.imported is not None
    argv = [*nix_argv("nix-build"), str(expression_file(_env_expr(interpreter))), "--no-out-link"]
    argv += ["--max-jobs", "0", "--builders", machine.direct_builders]
    env = {**os.environ, "NIX_PATH": "", **machine.direct_env}
    built = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert built.returncode == 0, built.stderr
    out = built.stdout.strip()
    closure = subprocess.run(
        [*nix_argv("nix-store"), "--query", "--requisites", out], capture_output=True, text=True, check=True
    ).stdout.split()
    assert str(interpreter.imported.path) in closure
    # the env and its layer were built there; the interpreter was copied there, not built
    built_there = [p for p in closure if machine.built_here(p)]
    assert out in built_there
    assert any(p.endswith("iniconfig-2.3.1-py3-none-any-py3.12") for p in built_there)
    assert str(interpreter.imported.path) in machine.store_paths()
    assert not machine.built_here(str(interpreter.imported.path))
    assert all("ultimate" not in path_info(None, [p])[p] for p in built_there)
    # and it runs there
    ran = machine.ssh(f"{out}/bin/python -c 'import sys, iniconfig, ssl; print(sys.base_prefix)'")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(interpreter.imported.path)]


def test_the_fixed_output_derivation_recreates_the_copy_in_an_empty_store(
    imported: dict[str, Interpreter], tmp_path: Path
) -> None:
    interpreter = imported["3.8"]
    assert interpreter.imported is not None
    expr = expression_file(
        f"let lib = import {NIX_LIBRARY} {{ }}; in ({python_expr(interpreter)}).interpreter"
    )
    # `lib` is the library here, as in an env file
    store = tmp_path / "nix"
    store.mkdir()
    build = shlex.join([*nix_argv("nix-build"), str(expr), "--no-out-link"])
    mount = f"mount --bind {store} /nix"
    hidden = _in_namespace(f"{mount} && mount -t tmpfs tmpfs {PYENV_VERSIONS.parent} && {build}")
    assert hidden.returncode != 0
    host_python = f"{interpreter.imported.prefix}/{interpreter.imported.executable}"
    assert f"nixtox: {host_python} is not on this machine" in hidden.stderr
    made = _in_namespace(f"{mount} && {build}")
    assert made.returncode == 0, made.stderr
    assert made.stdout.split() == [str(interpreter.imported.path)]
