"""``run_in = nix`` / ``nixtox run --in-nix`` for real: test runs as derivations Nix builds and caches.

Real PyPI pins, real interpreters (imported into the store), real pytest suites inside real check
derivations: the first run executes, the second is cached (no Nix call), an edit runs only what it
touches, a failure is a cached result until ``--rerun``, the reports are a host run's, the store is
read-only for the commands, and no ``pass_env`` value ever reaches the store.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.integration._nixtox import make_nix_spy, make_project, nix_calls, nixtox, results

pytestmark = [pytest.mark.nix, pytest.mark.usefixtures("nix_required")]

TOX_INI = """\
[tox]
env_list = py3{11,12}

[testenv]
run_in = nix
deps = pytest
    py312: iniconfig
commands = pytest -q -p no:cacheprovider --junitxml={env_tmp_dir}/junit.xml {posargs} tests
    py311: python -c "print('py311 only')"
"""


def _fresh(root: Path) -> None:
    """A source file no other test has: every derivation of this project is new."""
    (root / "src" / "hatchling_proj" / "_fresh.py").write_text(f"# {uuid.uuid4()}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path, "hatchling_proj", TOX_INI)
    _fresh(root)
    return root


def _run(root: Path, *args: str, spy: Path | None = None, env: dict[str, str] | None = None) -> tuple[
    subprocess.CompletedProcess[str], dict[str, dict[str, Any]]
]:  # fmt: skip
    report = root.parent / f"result-{uuid.uuid4().hex[:6]}.json"
    done = nixtox(root, "run", "--result-json", str(report), *args, spy=spy, extra_env=env)
    return done, results(report) if report.exists() else {}


def _ran(envs: dict[str, dict[str, Any]]) -> set[str]:
    return {label for label, env in envs.items() if not env["result_cached"]}


def test_first_run_executes_second_is_cached_and_an_edit_runs_only_what_it_touches(project: Path) -> None:
    first, envs = _run(project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert _ran(envs) == {"py311", "py312"}
    for env in envs.values():
        assert env["run_in"] == "nix"
        assert env["ran_on"] == "local"
        assert env["result"]["success"]
        assert Path(env["result_path"], "result.json").is_file()
        assert [t["retcode"] for t in env["test"]] == [0] * len(env["test"])
    assert "2 passed" in envs["py312"]["test"][0]["output"]
    assert "py311 only" in envs["py311"]["test"][1]["output"]
    assert re.search(r"py312: OK \(.*\), ran in Nix on this machine", first.stdout)
    # nothing changed: no test runs, no Nix call, each env printed as a cached result with when it ran
    spy = make_nix_spy(project.parent)
    start = time.monotonic()
    second, cached = _run(project, spy=spy)
    elapsed = time.monotonic() - start
    assert second.returncode == 0, second.stdout + second.stderr
    assert nix_calls(spy) == []
    assert _ran(cached) == set()
    assert {k: v["result_path"] for k, v in cached.items()} == {k: v["result_path"] for k, v in envs.items()}
    assert {k: v["ran_at"] for k, v in cached.items()} == {k: v["ran_at"] for k, v in envs.items()}
    for label in ("py311", "py312"):
        assert re.search(
            rf"  {label}: OK \(.*\), cached: ran in Nix on this machine at \d{{4}}-\d\d-\d\d ", second.stdout
        )
    assert elapsed < 5  # the whole process; the session itself is well under a second (bench/)
    # a dependency of py312 only: py312 runs, py311 stays cached
    (project / "tox.ini").write_text(TOX_INI.replace("py312: iniconfig", "py312: iniconfig\n    py312: six"))
    _, envs = _run(project)
    assert _ran(envs) == {"py312"}
    # a command of py311 only
    (project / "tox.ini").write_text(
        TOX_INI.replace("py312: iniconfig", "py312: iniconfig\n    py312: six").replace(
            "py311 only", "py311!"
        )
    )
    _, envs = _run(project)
    assert _ran(envs) == {"py311"}
    assert "py311!" in envs["py311"]["test"][1]["output"]
    # a source edit reaches every env that installs the project
    _fresh(project)
    _, envs = _run(project)
    assert _ran(envs) == {"py311", "py312"}


def test_a_failure_is_a_cached_result_until_rerun(project: Path, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    # a flaky test: it passes once the flag exists (the checks run without a sandbox, so they see it)
    (project / "tests" / "test_flaky.py").write_text(
        f"import os\n\ndef test_flag():\n    assert os.path.exists({str(flag)!r}), 'no flag yet'\n"
    )
    failed, envs = _run(project, "-e", "py312")
    assert failed.returncode == 1
    assert envs["py312"]["result"]["status"] == "fail"
    assert "no flag yet" in failed.stdout
    flag.write_text("")
    again, envs = _run(project, "-e", "py312")
    assert again.returncode == 1  # the failure is the result Nix has: nothing ran
    assert envs["py312"]["result_cached"]
    assert "no flag yet" in again.stdout  # shown as the run showed it
    assert re.search(r"py312: FAIL code 1 \(.*\), cached: ran in Nix", again.stdout)
    rerun, envs = _run(project, "-e", "py312", "--rerun")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert not envs["py312"]["result_cached"]
    # the rerun's result is the env's now
    after, envs = _run(project, "-e", "py312")
    assert after.returncode == 0
    assert envs["py312"]["result_cached"]
    # -r (recreate) runs it again too
    _, envs = _run(project, "-e", "py312", "-r")
    assert not envs["py312"]["result_cached"]


def test_reports_are_a_host_runs_junit_merged_live_output_per_env(project: Path) -> None:
    junit = project.parent / "junit.xml"
    done, envs = _run(project, "--junit", str(junit))
    assert done.returncode == 0, done.stdout + done.stderr
    # the live output: each env's command lines, output and end in one block, never interleaved
    order = re.findall(r"^(py31[12]): ", done.stdout, re.MULTILINE)
    assert len(set(order)) == 2
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert switches == 1, done.stdout

    def pytest_cases(path: Path) -> set[str]:
        return {c.get("classname", "") + "." + c.get("name", "") for c in ET.parse(path).iter("testcase")}

    cases = pytest_cases(junit)
    for label in ("py311", "py312"):
        assert f"{label}.tests.test_hatchling_proj.test_greet" in cases
    # cached: the same report, from the recorded JUnit files
    junit.unlink()
    _, envs = _run(project, "--junit", str(junit))
    assert all(env["result_cached"] for env in envs.values())
    assert pytest_cases(junit) == cases
    log = Path(envs["py312"]["log_dir"]) / "1-commands[0].log"
    assert "2 passed" in log.read_text()


WRITE_INTO_THE_ENV = """\
import errno, os, sys
try:
    open(os.path.join(os.environ["VIRTUAL_ENV"], "evil"), "w")
except OSError as exc:
    print("refused", errno.errorcode[exc.errno])
    sys.exit(0)
sys.exit("wrote into the store")
"""


def test_the_store_is_read_only_for_commands_inside_the_check(tmp_path: Path) -> None:
    ini = "[testenv]\nrun_in = nix\nskip_install = true\ncommands = python write.py\n"
    root = make_project(tmp_path, "hatchling_proj", ini)
    (root / "write.py").write_text(f"# {uuid.uuid4()}\n{WRITE_INTO_THE_ENV}")
    done, envs = _run(root, "-e", "py312")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refused EROFS" in envs["py312"]["test"][0]["output"]
    verify = subprocess.run(
        ["nix-store", "--verify-path", envs["py312"]["store_path"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr


def test_pass_env_values_never_reach_the_store(tmp_path: Path) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    ini = """\
[testenv:leaky]
run_in = nix
skip_install = true
pass_env = API_TOKEN
commands = python -c "import os; print(os.environ.get('API_TOKEN'))"

[testenv:fine]
run_in = nix
skip_install = true
pass_env = CI_KIND
non_secret_pass_env = CI_KIND
commands = python -c "import os; print('kind', os.environ.get('CI_KIND'), os.environ.get('API_TOKEN'))"
"""
    root = make_project(tmp_path, "hatchling_proj", ini)
    _fresh(root)
    environ = {"API_TOKEN": secret, "CI_KIND": "nightly"}
    done, envs = _run(root, "-e", "leaky,fine", env=environ)
    assert done.returncode == 1
    assert envs["leaky"]["result"]["status"] == "error"
    assert "pass_env API_TOKEN would bring values of this machine's environment" in done.stdout + done.stderr
    assert "non_secret_pass_env" in envs["leaky"]["result"]["reason"]
    assert envs["fine"]["result"]["success"]
    assert "kind nightly None" in envs["fine"]["test"][0]["output"]
    # the secret is nowhere in the store: not in any derivation nixtox made, not in any result
    state = json.loads((root / ".nixtox" / "state.json").read_text())
    check = state["checks"]["fine"]
    drvs = subprocess.run(
        ["nix-store", "--query", "--requisites", check["drv_path"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in [*drvs, check["result_path"]]:
        if path.endswith(".drv") or path == check["result_path"]:
            found = subprocess.run(["grep", "-rl", secret, path], capture_output=True, text=True, check=False)
            assert found.stdout == "", f"the secret is in {path}"
    assert secret not in (root / ".nixtox" / "nix" / "fine.nix").read_text()
