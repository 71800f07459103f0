"""`nixtox run` end to end: real config, real uv + PyPI, real nix-build, real interpreters and test suites.

The fixture projects (setuptools, hatchling, flit-core) each run on two interpreters x {sdist, wheel,
editable}; further tests check the up-to-date check (no Nix call on a warm run, precise rebuilds),
reproducibility, secrets and error reporting.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv
from tests.integration._nixtox import REPO, make_nix_spy, nix_calls, nixtox, results
from tests.integration._nixtox import make_project as _make_project

pytestmark = pytest.mark.nix

MATRIX_INI = """\
[tox]
env_list = py3{11,12}

[testenv]
package_formats = sdist wheel editable
deps = pytest
commands = pytest -q -p no:cacheprovider {posargs} tests
"""


def make_project(tmp_path: Path, fixture: str, tox_ini: str = MATRIX_INI) -> Path:
    return _make_project(tmp_path, fixture, tox_ini)


@pytest.fixture
def nix_spy(tmp_path: Path) -> Path:
    return make_nix_spy(tmp_path)


@pytest.mark.parametrize("fixture", ["setuptools_proj", "hatchling_proj", "flit_proj"])
def test_backend_matrix_passes_on_two_interpreters_and_three_formats(
    tmp_path: Path, fixture: str, nix_spy: Path
) -> None:
    root = make_project(tmp_path, fixture)
    package_dir = next(p for p in (root / "src").iterdir() if p.is_dir())
    (package_dir / "_fresh.py").write_text(f"# {uuid.uuid4()}\n")  # envs of their own, built now
    out = nixtox(root, "run", "--result-json", str(root.parent / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    envs = results(root.parent / "r.json")
    # running the test suites (pytest rewrites and caches modules) left every env untouched
    for env in envs.values():
        verify = subprocess.run(
            ["nix-store", "--verify-path", env["store_path"]], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0, verify.stderr
    # the project's own bytecode went next to its sources, as under tox (pytest's rewritten tests)
    assert list((root / "tests").rglob("__pycache__/*-pytest-*.pyc"))
    assert sorted(envs) == sorted(f"({f}) py3{v}" for v in (11, 12) for f in ("sdist", "wheel", "editable"))
    for label, env in envs.items():
        assert env["result"]["success"], label
        assert env["store_path"].startswith("/nix/store/")
        assert Path(env["store_path"], "bin", "python").exists()
        assert env["python"]["version"].startswith("3.11" if "py311" in label else "3.12")
    assert "congratulations :)" in out.stdout
    # the warm run calls no Nix at all and reuses every store path
    again = nixtox(root, "run", "--result-json", str(root.parent / "r2.json"), spy=nix_spy)
    assert again.returncode == 0, again.stdout + again.stderr
    assert nix_calls(nix_spy) == []
    warm = results(root.parent / "r2.json")
    assert all(env["cached"] for env in warm.values())
    assert {k: v["store_path"] for k, v in warm.items()} == {k: v["store_path"] for k, v in envs.items()}


def test_source_edit_rebuilds_non_editable_envs_and_dep_change_one_env(tmp_path: Path) -> None:
    root = make_project(tmp_path, "hatchling_proj")
    assert nixtox(root, "run", "--result-json", str(root.parent / "a.json")).returncode == 0
    before = {k: v["store_path"] for k, v in results(root.parent / "a.json").items()}
    init = next((root / "src").glob("*/__init__.py"))
    init.write_text(init.read_text() + "\nEDITED = True\n")
    assert nixtox(root, "run", "--result-json", str(root.parent / "b.json")).returncode == 0
    after = {k: v["store_path"] for k, v in results(root.parent / "b.json").items()}
    for label, path in before.items():
        if label.startswith("(editable)"):
            assert after[label] == path, label
        else:
            assert after[label] != path, label
    (root / "tox.ini").write_text(MATRIX_INI.replace("deps = pytest", "deps = pytest\n    py312: attrs"))
    assert nixtox(root, "run", "--result-json", str(root.parent / "c.json")).returncode == 0
    changed = {k: v["store_path"] for k, v in results(root.parent / "c.json").items()}
    for label, path in after.items():
        assert (changed[label] != path) == ("py312" in label), label


def test_sdist_missing_a_file_fails_in_sdist_env_and_passes_in_wheel_env(tmp_path: Path) -> None:
    ini = MATRIX_INI.replace("py3{11,12}", "py312").replace("sdist wheel editable", "sdist wheel")
    root = make_project(tmp_path, "missing_in_sdist", ini)
    out = nixtox(root, "run", "--result-json", str(root.parent / "r.json"))
    assert out.returncode == 1, out.stdout + out.stderr
    envs = results(root.parent / "r.json")
    assert envs["(wheel) py312"]["result"]["success"]
    assert not envs["(sdist) py312"]["result"]["success"]
    assert envs["(sdist) py312"]["result"]["status"] == "fail"


def test_env_build_is_reproducible(tmp_path: Path) -> None:
    ini = MATRIX_INI.replace("py3{11,12}", "py312").replace("sdist wheel editable", "wheel")
    root = make_project(tmp_path, "flit_proj", ini)
    assert nixtox(root, "run").returncode == 0
    check = subprocess.run(
        ["nix-build", str(root / ".nixtox" / "default.nix"), "-A", "envs.py312", "--check", "--no-out-link",
         *nix_options_argv(NixOptions())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr[-3000:]


def test_pass_env_value_never_enters_the_store(tmp_path: Path) -> None:
    secret = "nixtox-secret-value-4f1d0c"
    ini = (
        "[tox]\nenv_list = py312\n[testenv]\npackage_formats = wheel\npass_env = MY_TOKEN\ndeps = pytest\n"
        "commands = python -c \"import os; print('token', os.environ['MY_TOKEN'])\"\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "--result-json", str(root.parent / "r.json"), extra_env={"MY_TOKEN": secret})
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"token {secret}" in out.stdout  # the command saw it
    env = results(root.parent / "r.json")["py312"]
    drv = env["drv_path"]
    paths = set(
        subprocess.run(["nix-store", "-qR", drv], capture_output=True, text=True, check=True).stdout.split()
    )
    paths |= set(
        subprocess.run(
            ["nix-store", "-qR", env["store_path"]], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert drv in paths
    assert len(paths) > 5
    # .nixtox holds the rendered expressions and state: the secret is not there either
    paths.add(str(root / ".nixtox"))
    grep = subprocess.run(
        ["grep", "-rlF", secret, *sorted(paths)], capture_output=True, text=True, check=False
    )
    assert grep.stdout == "", f"secret found in: {grep.stdout}"


BAD_INI = """\
[tox]
env_list = good, nopython, unresolvable, notallowed, badbuild

[testenv]
package_formats = skip
base_python = python3.12
commands = python -c "print('fine')"

[testenv:nopython]
base_python = python3.99

[testenv:unresolvable]
deps = nixtox-this-package-does-not-exist-3b9c==1.0

[testenv:notallowed]
commands = make --version

[testenv:badbuild]
package_formats = wheel
"""


def test_bad_input_gives_one_clear_error_per_env_and_other_envs_still_run(tmp_path: Path) -> None:
    root = make_project(tmp_path, "setuptools_proj", BAD_INI)
    (root / "setup.py").write_text("raise SystemExit('this setup.py is broken on purpose')\n")
    out = nixtox(root, "run", "--result-json", str(root.parent / "r.json"))
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "Traceback" not in text
    envs = results(root.parent / "r.json")
    assert envs["good"]["result"]["success"]
    assert {k: v["result"]["status"] for k, v in envs.items() if k != "good"} == {
        "nopython": "error", "unresolvable": "error", "notallowed": "fail", "badbuild": "error",
    }  # fmt: skip
    assert re.search(r"nopython: .*python3\.99", text)
    assert re.search(r"unresolvable: .*nixtox-this-package-does-not-exist-3b9c", text)
    assert re.search(r"notallowed: .*allowlist_externals", text)
    assert re.search(r"badbuild: .*broken on purpose", text, flags=re.S)


def _locked_project(tmp_path: Path) -> Path:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = iniconfig\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    assert nixtox(root, "lock").returncode == 0
    return root


def test_hand_edited_lock_is_refused(tmp_path: Path) -> None:
    root = _locked_project(tmp_path)
    lock = root / "nixtox.lock"
    text = lock.read_text()
    match = re.search(r'sha256 = "([0-9a-f]{64})"', text)
    assert match is not None
    lock.write_text(text.replace(match.group(1), match.group(1)[::-1]))
    out = nixtox(root, "run")
    assert out.returncode == 1
    assert "py312: ERROR" in out.stdout
    assert "edited by hand" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_lock_pin_that_does_not_match_the_download_is_a_hash_mismatch(tmp_path: Path) -> None:
    """A consistent lock whose pinned sha256 is not what the index serves (a replaced upstream file)."""
    from dataclasses import replace

    from nixtox.lock import LockFile

    root = _locked_project(tmp_path)
    lock = LockFile.read(root / "nixtox.lock")
    entry = lock.entries["py312"]
    dist = next(d for d in entry.dists if d.name == "iniconfig")
    wrong = replace(dist, sha256="0" * 64)
    lock.put("py312", replace(entry, dists=tuple(wrong if d is dist else d for d in entry.dists)))
    lock.write(root / "nixtox.lock")
    out = nixtox(root, "run")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert re.search(
        r"py312: .*hash mismatch for iniconfig-[^ ]+\.whl: nixtox\.lock pins sha256:0{64}", text
    ), text
    assert "Traceback" not in text


def test_readme_example_runs(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo", root, ignore=shutil.ignore_patterns(".nixtox"))
    out = nixtox(root, "run", "--result-json", str(root.parent / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    envs = results(root.parent / "r.json")
    assert {"(sdist) py312", "(wheel) py312", "py311", "py313", "lint"} <= set(envs)
