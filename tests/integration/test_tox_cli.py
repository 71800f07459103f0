"""A tox user's command lines for real: real uv, real Nix builds, real interpreters, real imports.

The issue's two command lines (options before the subcommand), ``-x``, ``--installpkg`` of a wheel and
of an sdist (the dependencies from the file's metadata), ``--develop``, ``--workdir``, ``-n``,
``--skip-env-install``, ``--hashseed notset``, ``exec`` and ``devenv``.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration._nixtox import make_project, nixtox
from tests.integration.test_local_requirements import _wheel

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
deps = iniconfig
allowlist_externals = sh
commands =
    python -c "import flit_proj, iniconfig, os, sys; print('from', flit_proj.__file__, 'seed', os.environ.get('PYTHONHASHSEED'), 'args', sys.argv[1:])" {posargs}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("tox-cli"), "flit_proj", TOX_INI)
    first = nixtox(root, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_options_before_the_subcommand_are_options(project: Path) -> None:
    out = _ok(nixtox(project.parent, "-c", str(project / "tox.ini"), "run", "-e", "py312"))
    assert "args []" in out  # not ['run']
    out = _ok(nixtox(project.parent, "--root", str(project), "run", "-e", "py312", "--", "x", "y"))
    assert "args ['x', 'y']" in out


def test_override_adds_a_dependency_for_one_run_only(project: Path) -> None:
    lock = (project / "nixtox.lock").read_text()
    check = "testenv.commands=python -c \"import six; print('six', six.__version__)\""
    out = _ok(nixtox(project, "run", "-x", "testenv.deps+=six", "-x", check))
    assert "six 1." in out
    assert (project / "nixtox.lock").read_text() == lock  # a one-off run: the lock is left as it was


def test_hashseed_notset_and_notest(project: Path) -> None:
    out = _ok(nixtox(project, "run", "--hashseed", "notset"))
    assert "seed None" in out
    quiet = nixtox(project, "run", "--hashseed", "abc")
    assert quiet.returncode == 2
    assert "'abc' is not an integer" in quiet.stderr
    out = _ok(nixtox(project, "run", "-n"))
    assert "from" not in out
    assert "py312: OK" in out


def _metadata(name: str, version: str, requires: tuple[str, ...]) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )


def _sdist(directory: Path, requires: tuple[str, ...]) -> Path:
    """A flit sdist of ``flit_proj`` 9.0 whose metadata requires ``requires`` (the tree's does not)."""
    base = "flit_proj-9.0"
    sdist = directory / f"{base}.tar.gz"
    pyproject = (
        '[build-system]\nrequires = ["flit_core>=3.4,<5"]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "flit_proj"\nversion = "9.0"\ndescription = "x"\n'
        f"dependencies = {list(requires)!r}\n".replace("'", '"')
    )
    files = {
        f"{base}/pyproject.toml": pyproject,
        f"{base}/src/flit_proj/__init__.py": '"""from the sdist."""\nWHERE = "sdist"\n',
        f"{base}/PKG-INFO": _metadata("flit_proj", "9.0", requires),
    }
    with tarfile.open(sdist, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return sdist


def test_installpkg_installs_a_given_wheel_or_sdist_with_its_own_dependencies(
    project: Path, tmp_path: Path
) -> None:
    lock = (project / "nixtox.lock").read_text()
    wheel = _wheel(tmp_path, "flit_proj", "8.0", "WHERE = 'the given wheel'", ("six",))
    probe = (
        'testenv.commands=python -c "import flit_proj, six, importlib.metadata as m; '
        "print('installed', flit_proj.WHERE, m.version('flit_proj'), 'with six')\""
    )
    out = _ok(nixtox(project, "run", "--installpkg", str(wheel), "-x", probe))
    assert "installed the given wheel 8.0 with six" in out  # six: from the wheel's metadata only
    sdist = _sdist(tmp_path, ("six",))
    out = _ok(nixtox(project, "run", "--installpkg", sdist.as_uri(), "-x", probe))
    assert "installed sdist 9.0 with six" in out  # built in Nix from the sdist, not from the tree
    assert (project / "nixtox.lock").read_text() == lock
    missing = nixtox(project, "run", "--installpkg", str(tmp_path / "nope.whl"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_develop_workdir_and_skip_env_install(project: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    out = _ok(nixtox(project, "run", "--develop", "--workdir", str(work)))
    assert f"from {project / 'src' / 'flit_proj' / '__init__.py'}" in out  # editable: the tree itself
    assert (work / "state.json").is_file()
    assert (work / "envs" / "py312" / "bin").is_symlink()
    built = os.readlink(work / "gcroots" / "py312")
    # a change that would rebuild, then a run that reuses the build as it is
    (project / "tox.ini").write_text(TOX_INI.replace("deps = iniconfig", "deps = iniconfig\n    six"))
    try:
        again = _ok(nixtox(project, "run", "--develop", "--workdir", str(work), "--skip-env-install"))
        assert "building" not in again
        assert "from" in again
        assert os.readlink(work / "gcroots" / "py312") == built
    finally:
        (project / "tox.ini").write_text(TOX_INI)


def test_exec_runs_one_command_with_the_terminal_and_the_envs_rules(project: Path) -> None:
    proc = nixtox(project, "exec", "-e", "py312", "--hashseed", "5", "--", "python", "-c",
                  "import os, sys, flit_proj; print('exec', os.environ['PYTHONHASHSEED'], os.getcwd()); sys.exit(4)")  # fmt: skip
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"exec 5 {project}" in proc.stdout
    refused = nixtox(project, "exec", "-e", "py312", "--", "ls")
    assert refused.returncode == 1
    assert "allowlist_externals" in refused.stderr
    default = _ok(nixtox(project, "exec", "--", "sh", "-c", "echo $TOX_ENV_NAME"))
    assert default.strip() == "py"  # as tox: -e defaults to py


def test_devenv_is_a_directory_an_ide_can_use(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "venv"
    out = _ok(nixtox(project, "devenv", "-e", "py312", str(target)))
    assert f"created development environment under {target}" in out
    python = target / "bin" / "python"
    probe = subprocess.run(
        [python, "-c", "import sys, flit_proj, iniconfig; print(sys.prefix, flit_proj.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    prefix, module = probe.stdout.split()
    assert prefix == str(target)  # the IDE sees PATH as the environment
    assert module == str(project / "src" / "flit_proj" / "__init__.py")  # editable
    root = target / ".nixtox-gcroot"
    assert root.is_symlink()
    assert any(
        os.readlink(link) == str(root) for link in Path("/nix/var/nix/gcroots/auto").iterdir()
    )  # a registered indirect GC root
