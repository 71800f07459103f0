"""Existing locks honoured, nixtox's pins exported: real ``uv lock``/``uv export``, real PyPI wheels, real
nix-build, real interpreters, real installers.

The fixture project is locked by uv with ``exclude-newer`` in the past, so the lock's versions are not
the newest ones a resolver would pick: an env that gets them got them from the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest

from nixtox.interpreters import resolve_interpreter
from nixtox.lock import UvLock
from nixtox.lock._uvsync import sync_options
from nixtox.model import CoreConfig, EnvConfig, EnvSpec
from nixtox.plugins import find_format
from tests.integration._nixtox import nixtox

pytestmark = pytest.mark.nix

UV = str(Path(sys.executable).parent / "uv")
PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.4,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "lockdemo"
version = "0.1.0"
description = "nixtox fixture locked by uv"
requires-python = ">=3.10"
dependencies = ["iniconfig", "tomli; python_version < '3.11'"]

[project.optional-dependencies]
cli = ["packaging"]

[dependency-groups]
tests = ["pytest"]
docs = ["six"]
dev = ["pyflakes"]

[tool.uv]
exclude-newer = "2024-03-01T00:00:00Z"
"""
#: prints every installed distribution as JSON: what the env holds
SHOW = (
    'python -c "import importlib.metadata as m, json; '
    "print('DISTS', json.dumps(sorted([d.metadata['Name'].lower(), d.version] for d in m.distributions())))\""
)


def uv(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    out = subprocess.run([UV, *args], cwd=root, capture_output=True, text=True, check=False, env=env)
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def locked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project with a uv.lock made by the real ``uv lock`` (kept pristine: tests copy it)."""
    root = tmp_path_factory.mktemp("uvlock") / "lockdemo"
    (root / "src" / "lockdemo").mkdir(parents=True)
    (root / "src" / "lockdemo" / "__init__.py").write_text('"""lockdemo."""\n\n__version__ = "0.1.0"\n')
    (root / "pyproject.toml").write_text(PYPROJECT)
    uv(root, "lock", "--quiet")
    return root


def project_copy(locked_project: Path, tmp_path: Path, tox_ini: str) -> Path:
    root = tmp_path / "lockdemo"
    shutil.copytree(locked_project, root)
    (root / "tox.ini").write_text(textwrap.dedent(tox_ini))
    return root


def uv_sync_set(root: Path, python: str, *args: str) -> dict[str, str]:
    """What ``uv sync`` itself would install for ``python`` (dry run), the project left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(root / ".uv-dry-run")
    out = subprocess.run(
        [UV, "sync", "--frozen", "--dry-run", "--no-install-project", "-p", python, *args],
        cwd=root, capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    lines = [line.strip()[2:] for line in out.stderr.splitlines() if line.strip().startswith("+ ")]
    return dict(line.split("==", 1) for line in lines)


def installed(stdout: str) -> list[dict[str, str]]:
    """Each env's distributions, in the order the envs ran."""
    return [
        {name: version for name, version in json.loads(line.split("DISTS ", 1)[1])}
        for line in stdout.splitlines()
        if line.startswith("DISTS ")
    ]


def lock_spec(**config: object) -> EnvSpec:
    fmt = find_format("wheel")
    assert fmt is not None
    env_config = EnvConfig(**{"runner": "uv-venv-lock-runner", **config})  # type: ignore[arg-type]
    return EnvSpec("py", fmt, ("py",), "py", True, env_config)


@pytest.mark.parametrize("minor", ["3.10", "3.11", "3.12", "3.13"])
def test_selection_equals_what_uv_sync_installs(locked_project: Path, minor: str) -> None:
    core = CoreConfig(root=locked_project, config_file=locked_project / "tox.ini")
    interp = resolve_interpreter(minor, core, env_name=minor)
    lock = UvLock.read(locked_project / "uv.lock")
    pyproject = {"dependency-groups": {"tests": [], "docs": [], "dev": []}}
    cases: list[tuple[dict[str, object], tuple[str, ...]]] = [
        ({}, ()),
        ({"dependency_groups": ("tests",), "extras": ("cli",)}, ("--no-default-groups", "--group", "tests", "--extra", "cli")),
        ({"only_groups": ("docs",)}, ("--only-group", "docs")),
        ({"uv_sync_flags": ("--all-groups", "--all-extras", "--no-dev")}, ("--all-groups", "--all-extras", "--no-dev")),
    ]  # fmt: skip
    for config, flags in cases:
        options = sync_options(lock_spec(**config), pyproject, ["tests", "docs", "dev"], environ={})
        chosen = lock.select(lock.project("lockdemo"), options.selection, interp)
        mine = {p.name: p.version for p in chosen.packages}
        assert mine == uv_sync_set(locked_project, str(interp.executable), *flags), config


def test_lock_runner_envs_install_exactly_the_uv_lock_versions(locked_project: Path, tmp_path: Path) -> None:
    root = project_copy(
        locked_project,
        tmp_path,
        f"""
        [tox]
        env_list = py310, py312
        [testenv]
        runner = uv-venv-lock-runner
        package = wheel
        extras = cli
        dependency_groups = tests
        commands = {SHOW}
        """,
    )
    out = nixtox(root, "run")
    assert out.returncode == 0, out.stdout + out.stderr
    core = CoreConfig(root=root, config_file=root / "tox.ini")
    expected = [
        uv_sync_set(root, str(resolve_interpreter(minor, core, env_name=minor).executable),
                    "--no-default-groups", "--group", "tests", "--extra", "cli")
        for minor in ("3.10", "3.12")
    ]  # fmt: skip
    py310, py312 = installed(out.stdout)
    assert py310 == {**expected[0], "lockdemo": "0.1.0"}
    assert py312 == {**expected[1], "lockdemo": "0.1.0"}
    assert py312["pytest"] == "8.0.2"  # the lock's, not today's newest
    assert "tomli" in py310
    assert "tomli" not in py312
    lock = (root / "nixtox.lock").read_text()
    assert "flit-core" in lock  # the build environment uv.lock does not pin, resolved by nixtox


def test_a_stale_uv_lock_fails_as_with_tox_uv_unless_frozen(locked_project: Path, tmp_path: Path) -> None:
    root = project_copy(
        locked_project,
        tmp_path,
        f"""
        [testenv:py312]
        runner = uv-venv-lock-runner
        package = skip
        dependency_groups = docs
        commands = {SHOW}
        """,
    )
    pyproject = root / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('docs = ["six"]', 'docs = ["six", "pyflakes"]'))
    out = nixtox(root, "run", "-e", "py312")
    assert out.returncode == 1
    assert "py312: uv.lock does not match pyproject.toml (`uv lock --check`):" in out.stdout + out.stderr
    assert "needs to be updated" in out.stdout + out.stderr

    frozen = nixtox(root, "run", "-e", "py312", extra_env={"UV_FROZEN": "1"})
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    # package = skip is uv's --no-install-project: the project's own dependencies stay
    assert installed(frozen.stdout) == [{"iniconfig": "2.0.0", "six": "1.16.0"}]


def test_pylock_env_installs_exactly_the_pylock_versions(locked_project: Path, tmp_path: Path) -> None:
    root = project_copy(
        locked_project,
        tmp_path,
        f"""
        [testenv:py311]
        pylock = pylock.toml
        package = wheel
        commands = {SHOW}
        """,
    )
    uv(root, "export", "--frozen", "--format", "pylock.toml", "--no-default-groups", "--group", "tests", "--extra", "cli",
       "--no-emit-project", "-o", "pylock.toml", "--quiet")  # fmt: skip
    out = nixtox(root, "run", "-e", "py311")
    assert out.returncode == 0, out.stdout + out.stderr
    expected = uv_sync_set(root, "3.11", "--no-default-groups", "--group", "tests", "--extra", "cli")
    assert installed(out.stdout) == [{**expected, "lockdemo": "0.1.0"}]


def test_exported_pylock_installs_with_uv_and_pip(locked_project: Path, tmp_path: Path) -> None:
    root = project_copy(
        locked_project,
        tmp_path,
        """
        [tox]
        skipsdist = true
        [testenv:py312]
        deps =
            pytest<8.1
            attrs==23.2.0
        """,
    )
    out = nixtox(root, "lock", "-e", "py312", "--export-pylock")
    assert out.returncode == 0, out.stdout + out.stderr
    exported = root / "pylock.py312.toml"
    pins = {p["name"].lower(): p["version"] for p in tomllib.loads(exported.read_text())["packages"]}
    python = str(
        resolve_interpreter(
            "3.12", CoreConfig(root=root, config_file=root / "tox.ini"), env_name="x"
        ).executable
    )

    uv_venv = tmp_path / "uv-venv"
    uv(root, "venv", "--python", python, str(uv_venv), "--quiet")
    uv(root, "pip", "install", "--python", str(uv_venv / "bin" / "python"), "-r", str(exported), "--quiet")
    frozen_uv = uv(root, "pip", "freeze", "--python", str(uv_venv / "bin" / "python")).stdout

    pip_venv = tmp_path / "pip-venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(pip_venv)], check=True)
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(pip_venv / "bin" / "python"), "install", "--no-index",
         "--no-deps", "-r", str(exported), "--quiet", "--disable-pip-version-check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    frozen_pip = uv(root, "pip", "freeze", "--python", str(pip_venv / "bin" / "python")).stdout

    def versions(freeze: str) -> dict[str, str]:
        return dict(line.lower().split("==", 1) for line in freeze.splitlines() if "==" in line)

    assert versions(frozen_uv) == versions(frozen_pip) == pins
    assert versions(frozen_uv)["attrs"] == "23.2.0"
    assert versions(frozen_uv)["pytest"].startswith("8.0.")


PATCH_INI = """
[tox]
skipsdist = true
[testenv:t]
base_python = {env:PY}
deps = DEPS
commands = python -c "import sys, iniconfig; print('RUNNING', sys.version.split()[0])"
"""
DEBIAN_311 = Path("/usr/bin/python3.11")


def test_a_committed_lock_survives_a_patch_release_unless_a_marker_splits_them(tmp_path: Path) -> None:
    pyenv_311 = sorted(Path("/root/.pyenv/versions").glob("3.11.*/bin/python3.11"))
    if not pyenv_311 or not DEBIAN_311.is_file():
        pytest.skip("needs two CPython 3.11 patch releases (pyenv's and /usr/bin/python3.11)")
    newer, older = str(pyenv_311[-1]), str(DEBIAN_311)
    versions = {
        subprocess.run([p, "-c", "import platform; print(platform.python_version())"], capture_output=True,
                       text=True, check=True).stdout.strip()
        for p in (newer, older)
    }  # fmt: skip
    if len(versions) != 2:
        pytest.skip(f"both interpreters are {versions}")

    root = tmp_path / "plain"
    root.mkdir()
    (root / "tox.ini").write_text(PATCH_INI.replace("DEPS", "iniconfig"))
    assert nixtox(root, "lock", "-e", "t", extra_env={"PY": newer}).returncode == 0
    assert 'interpreter = "cpython-3.11-' in (root / "nixtox.lock").read_text()
    out = nixtox(root, "run", "--locked", "-e", "t", extra_env={"PY": older})
    assert out.returncode == 0, out.stdout + out.stderr
    assert (
        f"RUNNING {sorted(versions)[0]}" in out.stdout
    )  # the older one ran, from the lock made on the newer

    split = tmp_path / "split"
    split.mkdir()
    (split / "tox.ini").write_text(
        PATCH_INI.replace("DEPS", "iniconfig\n    six; python_full_version >= '3.11.5'")
    )
    assert nixtox(split, "lock", "-e", "t", extra_env={"PY": newer}).returncode == 0
    assert 'interpreter = "cpython-3.11.' in (split / "nixtox.lock").read_text()
    out = nixtox(split, "run", "--locked", "-e", "t", extra_env={"PY": older})
    assert out.returncode == 1
    assert (
        "nixtox.lock is stale for env t: the interpreter changed (locked for cpython-3.11."
        in out.stdout + out.stderr
    )
