"""More of `nixtox run` end to end: nixpkgs interpreters, missing interpreters, --locked, gc."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration._nixtox import REPO, make_project, nixtox, results

pytestmark = pytest.mark.nix

NIXPKGS = REPO / "tests" / "fixtures" / "nixpkgs"


def test_env_on_a_nixpkgs_interpreter(tmp_path: Path) -> None:
    ini = (
        f"[tox]\nenv_list = py312\ninterpreter_providers = nixpkgs\nnixpkgs = {NIXPKGS}\n"
        "[testenv]\npackage_formats = wheel\ndeps = pytest\n"
        "commands = python -c \"import sys, setuptools_proj; print('base', sys.base_prefix)\"\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    env = results(tmp_path / "r.json")["py312"]
    assert env["python"]["provider"] == "nixpkgs"
    assert env["python"]["executable"].startswith("/nix/store/")
    rendered = (root / ".nixtox" / "nix" / "py312.nix").read_text()
    assert ").python312; in" in rendered  # the interpreter is a nixpkgs derivation, a real Nix input


def test_missing_interpreter_is_skipped_when_allowed(tmp_path: Path) -> None:
    ini = (
        "[tox]\nenv_list = py312, future\nskip_missing_interpreters = true\n"
        "[testenv]\npackage_formats = skip\ncommands = python -c pass\n[testenv:future]\nbase_python = python3.99\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "future: SKIP" in out.stdout
    assert "py312: OK" in out.stdout
    assert "python3.99" in out.stdout + out.stderr  # says what it looked for


def test_locked_refuses_a_missing_or_stale_lock_and_accepts_a_current_one(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = iniconfig\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "--locked")
    assert out.returncode == 1
    assert "nixtox lock" in out.stdout + out.stderr
    assert not (root / "nixtox.lock").exists()  # --locked writes nothing
    assert nixtox(root, "lock").returncode == 0
    assert nixtox(root, "run", "--locked").returncode == 0
    (root / "tox.ini").write_text(ini.replace("deps = iniconfig", "deps = iniconfig\n    attrs"))
    stale = nixtox(root, "run", "--locked")
    assert stale.returncode == 1
    assert "stale" in stale.stdout + stale.stderr


def test_gc_drops_roots_of_envs_no_longer_configured(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = a, b\n[testenv]\npackage_formats = skip\nbase_python = python3.12\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    assert nixtox(root, "run").returncode == 0
    roots = root / ".nixtox" / "gcroots"
    assert sorted(p.name for p in roots.iterdir()) == ["a", "b"]
    (root / "tox.ini").write_text(ini.replace("env_list = a, b", "env_list = a"))
    out = nixtox(root, "gc")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in roots.iterdir()) == ["a"]
    assert "dropped b" in out.stdout
    again = nixtox(root, "run")
    assert again.returncode == 0
    assert "a: OK" in again.stdout
    assert "cached" in again.stdout


def test_running_commands_never_modifies_the_env_store_path(tmp_path: Path) -> None:
    """pytest rewrites the modules of its plugins (hypothesis's here) and keeps them where Python keeps
    bytecode; as root without a daemon the store is writable, so one written into the env would corrupt
    the store path. The env holds them, rewritten when it was built: the run reads them, writes none."""
    ini = (
        "[tox]\nenv_list = py312\n[testenv]\npackage_formats = wheel\n"
        "deps =\n    pytest\n    hypothesis\nset_env = PYTEST_DEBUG = 1\n"
        "commands = pytest -q -p no:cacheprovider tests\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    (root / "src" / "setuptools_proj" / "_fresh.py").write_text(f"# {uuid.uuid4()}\n")
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    store_path = results(tmp_path / "r.json")["py312"]["store_path"]
    verify = subprocess.run(
        ["nix-store", "--verify-path", store_path], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr
    site = next(Path(store_path, "lib").glob("python3.*/site-packages"))
    assert list((site / "hypothesis" / "internal").glob("__pycache__/*-pytest-*.pyc"))
    said = out.stdout + out.stderr  # pytest's trace (PYTEST_DEBUG): what it found and what it rewrote
    assert f"found cached rewritten pyc for {site}/hypothesis/core.py" in said
    assert not re.search(r"rewriting PosixPath\('[^']*/site-packages/", said)
    assert not (root / ".nixtox" / "pycache").exists()


def test_each_wheel_is_installed_once_per_interpreter_and_shared_by_envs(tmp_path: Path) -> None:
    ini = "[tox]\nenv_list = py312\n[testenv]\npackage_formats = sdist wheel\ndeps = pytest\ncommands = python -c pass\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr

    def layers(store_path: str) -> set[str]:
        closure = subprocess.run(["nix-store", "-qR", store_path], capture_output=True, text=True, check=True)
        return {p for p in closure.stdout.split() if p.endswith("-py3.12") and "-py3-none-any-" in p}

    envs = results(tmp_path / "r.json")
    sdist, wheel = (layers(envs[f"({f}) py312"]["store_path"]) for f in ("sdist", "wheel"))
    assert any("-pytest-" in p for p in sdist)
    assert sdist == wheel  # the same pytest, pluggy, ... layers: installed and compiled once


def test_packagedef_build_interpreter_builds_one_artifact_for_all_envs(tmp_path: Path) -> None:
    ini = (
        "[tox]\nenv_list = py311, py312\n"
        "[packagedef:shared]\nformat = wheel\nbuild_interpreter = py312\n"
        "[testenv]\npackagedef = shared\ndeps = pytest\ncommands = pytest -q -p no:cacheprovider tests\n"
    )
    root = make_project(tmp_path, "flit_proj", ini)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr

    def package_builds(drv_path: str) -> set[str]:
        closure = subprocess.run(["nix-store", "-qR", drv_path], capture_output=True, text=True, check=True)
        return {p for p in closure.stdout.split() if p.endswith("-flit_proj-wheel.drv")}

    envs = results(tmp_path / "r.json")
    py311, py312 = (package_builds(envs[name]["drv_path"]) for name in ("py311", "py312"))
    assert len(py311) == 1
    assert py311 == py312  # one wheel, built once by 3.12, installed into both envs


def test_a_dependency_published_only_as_an_sdist_is_built_in_nix(tmp_path: Path) -> None:
    ini = (
        "[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = docopt==0.6.2\n"
        "commands = python -c \"import docopt; print('docopt', docopt.__version__)\"\n"
    )
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "docopt 0.6.2" in out.stdout
    assert 'filename = "docopt-0.6.2.tar.gz"' in (root / ".nixtox" / "nix" / "py312.nix").read_text()
