"""In-Nix runs spread over Nix remote builders (simulated machines, tests/integration/_machines.py).

The machines have a store of their own and no ``/root/.pyenv``: an env runs there only because its
interpreter is the host CPython's copy in the store, which Nix copies with the rest of the closure.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration._machines import Machines, machines_fixture, path_info
from tests.integration._nixtox import make_project, nixtox, results
from tests.integration.conftest import PYENV_VERSIONS

pytestmark = [pytest.mark.nix, pytest.mark.usefixtures("nix_required")]

machines = machines_fixture(2)

MATRIX = """\
[tox]
env_list = py3{11,12,13}-{plain,ini}

[testenv]
run_in = nix
deps = pytest
    ini: iniconfig
commands = pytest -q -p no:cacheprovider tests
    python -c "import socket, sys; print('ran on', socket.gethostname(), sys.base_prefix)"
"""


def _run(root: Path, machines: Machines, *args: str) -> tuple[str, dict[str, dict[str, Any]]]:
    report = root.parent / f"result-{uuid.uuid4().hex[:6]}.json"
    done = nixtox(
        root, "run", "-p", "auto", "--builders", machines.builders, "--max-jobs", "0",
        "--result-json", str(report), *args, extra_env=machines.env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, results(report)


def test_a_matrix_over_two_builders_runs_every_env_there_and_builds_nothing_here(
    machines: Machines, tmp_path: Path
) -> None:
    for version in ("3.11", "3.12", "3.13"):
        if not sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}")):
            pytest.skip(f"no CPython {version} under {PYENV_VERSIONS}")
    for machine in machines:  # the builders have no host interpreters at all
        listing = machine.ssh(f"ls -A {PYENV_VERSIONS.parent} | wc -l")
        assert listing.stdout.strip() == "0", listing
    root = make_project(tmp_path, "hatchling_proj", MATRIX)
    (root / "src" / "hatchling_proj" / "_fresh.py").write_text(f"# {uuid.uuid4()}\n")
    stdout, envs = _run(root, machines)
    assert len(envs) == 6
    by_name = {m.name: m for m in machines}
    for label, env in envs.items():
        assert env["result"]["success"], label
        assert not env["result_cached"]
        assert env["ran_on"] in by_name, (label, env["ran_on"])
        assert env["built_on"] in by_name, (label, env["built_on"])
        host = by_name[env["ran_on"]]
        assert host.built_here(env["result_path"])
        assert by_name[env["built_on"]].built_here(env["store_path"])
        # nothing was built on this machine: the env and the result were copied here
        for path in (env["store_path"], env["result_path"]):
            assert "ultimate" not in path_info(None, [path])[path]
        # the interpreter the commands ran on is the store copy, not /root/.pyenv
        (line,) = [ln for ln in env["test"][1]["output"].splitlines() if ln.startswith("ran on")]
        assert line.split()[2] == env["ran_on"]
        assert line.split()[3].startswith("/nix/store/")
        assert f"{label}: OK (" in stdout
        assert f"ran in Nix on {env['ran_on']}, env built on {env['built_on']}" in stdout
    assert {env["ran_on"] for env in envs.values()} == set(by_name)
    # nothing changed: every result is cached, no builder is asked
    _, again = _run(root, machines)
    assert all(env["result_cached"] for env in again.values())
    assert {k: v["ran_on"] for k, v in again.items()} == {k: v["ran_on"] for k, v in envs.items()}
