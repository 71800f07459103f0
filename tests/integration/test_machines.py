"""The simulated remote builder machines (tests/integration/_machines.py) with the real Nix and sshd.

Every derivation here carries a per-session nonce in its name, so it is new to every store and Nix
really builds it (nothing is found already built, locally or on a machine).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.integration._machines import (
    SYSTEM,
    Machines,
    machines_fixture,
    namespace_init,
    path_info,
    start_machines,
)
from tests.integration.conftest import PYENV_VERSIONS, expression_file, nix_argv, nix_string

pytestmark = [pytest.mark.nix, pytest.mark.usefixtures("nix_required")]

machines = machines_fixture(2)
NONCE = uuid.uuid4().hex[:12]
#: the builder writes the hostname of the machine it runs on: each machine has its own (UTS namespace)
HOSTNAME_BUILDER = "read host < /proc/sys/kernel/hostname; echo $host > $out"


def _derivation(name: str, script: str) -> str:
    return (
        f'derivation {{ name = {nix_string(name)}; system = {nix_string(SYSTEM)}; builder = "/bin/sh";'
        f' args = [ "-c" {nix_string(script)} ]; }}'
    )


def nix_build_remote(
    expr: str, builders: str, env: Mapping[str, str], attrs: Sequence[str] = (), *, max_jobs: int = 0
) -> subprocess.CompletedProcess[str]:
    """``nix-build`` with ``--max-jobs`` (0: nothing builds locally) and ``--builders``."""
    argv = [*nix_argv("nix-build"), str(expression_file(expr)), "--no-out-link"]
    # a build the hook postpones (every machine busy) is retried after build-poll-interval (5 s)
    argv += ["--max-jobs", str(max_jobs), "--builders", builders, "--option", "build-poll-interval", "1"]
    for attr in attrs:
        argv += ["-A", attr]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, "NIX_PATH": "", **env},
        timeout=300,
        check=False,
    )


def test_a_derivation_builds_on_the_builder_and_not_locally(machines: Machines) -> None:
    first, second = machines
    result = nix_build_remote(_derivation(f"machines-one-{NONCE}", HOSTNAME_BUILDER), first.direct_builders,
                              first.direct_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip()
    assert Path(out).read_text() == "builder-1\n"
    assert "on 'ssh-ng://root@127.0.0.1'" in result.stderr
    assert first.built_here(out)
    # the output was copied back: valid here, but not built here
    local = path_info(None, [out])[out]
    assert "ultimate" not in local
    assert out not in second.store_paths()


def test_two_builders_share_a_matrix(machines: Machines) -> None:
    # each derivation takes a second, so while one machine is busy the next one goes to the other
    matrix = {
        f"d{i}": _derivation(f"machines-matrix-{i}-{NONCE}", f"/bin/sleep 1; {HOSTNAME_BUILDER}")
        for i in range(6)
    }
    expr = "{\n" + "".join(f"  {key} = {value};\n" for key, value in matrix.items()) + "}\n"
    result = nix_build_remote(expr, machines.builders, machines.env, list(matrix))
    assert result.returncode == 0, result.stderr
    outs = result.stdout.split()
    assert len(outs) == 6
    ran_on = {out: Path(out).read_text().strip() for out in outs}
    assert set(ran_on.values()) == {"builder-1", "builder-2"}
    by_name = {m.name: m for m in machines}
    for out, name in ran_on.items():
        assert by_name[name].built_here(out)
        others = [m for m in machines if m.name != name]
        assert all(out not in m.store_paths() for m in others)
        assert "ultimate" not in path_info(None, [out])[out]


def test_a_builder_without_pyenv_cannot_run_a_host_interpreter(machines: Machines) -> None:
    pythons = sorted(PYENV_VERSIONS.glob("3.12.*/bin/python3.12"))
    if not pythons:
        pytest.skip(f"no CPython 3.12 under {PYENV_VERSIONS}")
    python = str(pythons[-1])
    expr = (
        f'derivation {{ name = "machines-pyenv-{NONCE}"; system = {nix_string(SYSTEM)};'
        f" builder = {nix_string(python)};"
        " args = [ \"-c\" \"import os; open(os.environ['out'], 'w').write('ok')\" ]; }"
    )
    first = machines[0]
    remote = nix_build_remote(expr, first.direct_builders, first.direct_env)
    assert remote.returncode != 0
    assert f"executing '{python}': No such file or directory" in remote.stderr
    # the same derivation builds on this machine, which has the interpreter
    local = nix_build_remote(expr, "", {}, max_jobs=1)
    assert local.returncode == 0, local.stderr
    assert Path(local.stdout.strip()).read_text() == "ok"


def test_the_machine_sees_its_own_store_and_no_host_interpreters(machines: Machines) -> None:
    machine = machines[1]
    result = machine.ssh(
        f"hostname; ls -A {PYENV_VERSIONS.parent} | wc -l; echo --; ls /nix/store; echo --; ps -e -o comm="
    )
    assert result.returncode == 0, result.stderr
    head, store, processes = result.stdout.split("--\n")
    assert head.split() == ["builder-2", "0"]
    # /nix/store there is the machine's own store, not the host's
    assert {f"/nix/store/{name}" for name in store.split()} == machine.store_paths() | _temp_entries(store)
    assert len(store.split()) < len(os.listdir("/nix/store"))
    # its own PID namespace: timeout, sshd and this session; nothing of the host
    assert set(processes.split()) <= {"timeout", "sshd", "bash", "ps", "nix-daemon"}


def _temp_entries(listing: str) -> set[str]:
    # lock files of builds in progress are not store paths
    return {f"/nix/store/{name}" for name in listing.split() if name.endswith(".lock")}


def test_stopping_leaves_no_process(tmp_path: Path) -> None:
    with start_machines(1, tmp_path) as machines:
        (machine,) = machines
        init = namespace_init(machine.process)
        assert init is not None
        assert machine.ssh("true").returncode == 0
    assert machine.process.returncode is not None
    assert not Path(f"/proc/{init}").exists()
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False)
    assert leftovers.stdout == ""
