"""``nixtox export`` for real: a flake with no inputs imports the exported file (``nix develop``,
checks), the export instantiates to the same .drv paths as nixtox's rendering on a second store, and
nixtox's own flake evaluates against the stand-in nixpkgs (tests/fixtures/nixpkgs/flake.nix)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv
from tests.integration.conftest import REPO_ROOT, copy_fixture_project, host_python
from tests.integration.test_shells import flake_argv, run

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
deps = iniconfig
set_env = GREETING = hello
commands = python -c "import iniconfig, os; assert os.environ['GREETING'] == 'hello'"
    python -c "import sys, pathlib; sys.exit(0 if pathlib.Path('{toxinidir}/src').is_dir() else 9)"
"""

# the documented snippet, with no inputs at all
FLAKE = """\
{
  outputs = { self }: let envs = import ./nix/nixtox-envs.nix { system = "x86_64-linux"; }; in {
    devShells.x86_64-linux = envs.devShells; checks.x86_64-linux = envs.checks;
    packages.x86_64-linux = envs.packages; };
}
"""
STANDIN_NIXPKGS = REPO_ROOT / "tests" / "fixtures" / "nixpkgs"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def nixtox(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "nixtox", *args], root)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    host_python("3.12")  # skips without it
    root = copy_fixture_project("hatchling_proj", tmp_path_factory.mktemp("export"))
    (root / "tox.ini").write_text(TOX_INI)
    (root / "flake.nix").write_text(FLAKE)
    git(root, "init", "-q")
    exported = nixtox(root, "export")
    assert exported.returncode == 0, exported.stderr
    git(root, "add", "-A")
    return root


def _json(proc: subprocess.CompletedProcess[str]) -> object:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_flake_develop_uses_the_exported_env(project: Path, tmp_path: Path) -> None:
    nix = flake_argv(tmp_path)
    probe = "import iniconfig, sys; print(sys.prefix)"
    proc = run([*nix, "develop", ".#py312", "--command", "python", "-c", probe], project)
    assert proc.returncode == 0, proc.stderr
    prefix = proc.stdout.split()[-1]
    built = _json(run([*nix, "build", ".#packages.x86_64-linux.py312", "--no-link", "--json"], project))
    assert isinstance(built, list)
    assert prefix == built[0]["outputs"]["out"]
    assert prefix.startswith("/nix/store/")
    assert prefix.endswith("-nixtox-env-py312")


def test_flake_check_runs_the_commands_in_a_derivation(project: Path, tmp_path: Path) -> None:
    nix = flake_argv(tmp_path)
    built = _json(run([*nix, "build", ".#checks.x86_64-linux.py312", "--no-link", "--json"], project))
    assert isinstance(built, list)
    out = Path(built[0]["outputs"]["out"])
    assert (out / "exit-code").read_text() == "0\n"
    result = json.loads((out / "result.json").read_text())
    assert [c["exit_code"] for c in result["commands"]] == [0, 0]
    assert "commands> python -c" in (out / "log").read_text()


def test_regenerating_gives_byte_identical_files(project: Path) -> None:
    exported = project / "nix" / "nixtox-envs.nix"
    library = project / "nix" / "nixtox-lib"
    before = {p: p.read_bytes() for p in [exported, *library.rglob("*")] if p.is_file()}
    proc = nixtox(project, "export")
    assert proc.returncode == 0, proc.stderr
    after = {p: p.read_bytes() for p in [exported, *library.rglob("*")] if p.is_file()}
    assert after == before


def test_export_instantiates_to_the_same_drvs_on_a_second_store(project: Path, tmp_path: Path) -> None:
    proc = nixtox(project, "run")  # renders .nixtox/ (the project is committed to git's index: same files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store = tmp_path / "store"
    instantiate = ["nix-instantiate", *nix_options_argv(NixOptions()), "--store", str(store)]
    ours = run([*instantiate, ".nixtox/default.nix", "-A", "envs.py312", "-A", "shells.py312"], project)
    exported = run(
        [*instantiate, "nix/nixtox-envs.nix", "-A", "packages.py312", "-A", "devShells.py312"], project
    )
    assert ours.returncode == 0, ours.stderr
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.split() == ours.stdout.split()
    assert len(ours.stdout.split()) == 2
    assert (store / ours.stdout.split()[0].lstrip("/")).is_file()  # written to the second store


def test_mk_check_fails_on_a_failing_command_unless_allowed(project: Path, tmp_path: Path) -> None:
    expr = tmp_path / "check.nix"
    expr.write_text(
        f"""let envs = import {project}/nix/nixtox-envs.nix {{ }}; in
        builtins.mapAttrs (_: allowFailure: envs.lib.mkCheck {{
          env = envs.packages.py312; src = envs.src; inherit allowFailure;
          commands = [
            {{ argv = [ "python" "-c" "raise SystemExit(3)" ]; }}
            {{ phase = "commands_post"; argv = [ "true" ]; }}
          ];
        }}) {{ strict = false; lenient = true; }}"""
    )
    build = ["nix-build", *nix_options_argv(NixOptions()), str(expr), "--no-out-link"]
    failing = run([*build, "-A", "strict"], project)
    assert failing.returncode != 0
    assert "a command failed (exit 3)" in failing.stderr
    lenient = run([*build, "-A", "lenient"], project)
    assert lenient.returncode == 0, lenient.stderr
    out = Path(lenient.stdout.split()[-1])
    assert (out / "exit-code").read_text() == "3\n"
    assert [c["phase"] for c in json.loads((out / "result.json").read_text())["commands"]] == [
        "commands",
        "commands_post",
    ]


@pytest.fixture(scope="module")
def own_flake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nixtox's flake with the files it reads (a path: flake: no git index needed)."""
    dest = tmp_path_factory.mktemp("own-flake") / "nixtox"
    dest.mkdir()
    for name in ("flake.nix", "pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "src", dest / "src", ignore=ignore)
    shutil.copytree(REPO_ROOT / "nix", dest / "nix", ignore=ignore)
    return dest


def _own(own_flake: Path) -> list[str]:
    return [
        f"path:{own_flake}",
        "--override-input",
        "nixpkgs",
        f"path:{STANDIN_NIXPKGS}",
        "--no-write-lock-file",
    ]


def test_own_flake_outputs(own_flake: Path, tmp_path: Path) -> None:
    nix = flake_argv(tmp_path)
    check = run([*nix, "flake", "check", *_own(own_flake)], tmp_path)
    assert check.returncode == 0, check.stderr
    shown = _json(run([*nix, "flake", "show", "--json", *_own(own_flake)], tmp_path))
    assert isinstance(shown, dict)
    system = "x86_64-linux"
    assert set(shown["packages"][system]) == {"default", "nixtox"}
    assert shown["apps"][system]["default"]["type"] == "app"
    assert shown["devShells"][system]["default"]["type"] == "derivation"
    assert "default" in shown["overlays"]
    assert "lib" in shown
    built = _json(run([*nix, "build", "--no-link", "--json", *_own(own_flake)], tmp_path))
    assert isinstance(built, list)
    args = json.loads((Path(built[0]["outputs"]["out"]) / "nix-support" / "build-args.json").read_text())
    assert args == {
        "pname": "nixtox",
        "version": "0.1.0",
        "pyproject": True,
        "build-system": ["hatchling"],
        "dependencies": ["click", "packaging", "jinja2", "platformdirs", "pluggy"],
        "pythonImportsCheck": ["nixtox"],
    }
    app = run([*nix, "run", *_own(own_flake)], tmp_path)
    assert app.returncode == 0, app.stderr
    assert app.stdout.strip() == "nixtox 0.1.0 (stand-in build)"


def test_own_flake_lib_builds_an_env_in_pure_evaluation(own_flake: Path, tmp_path: Path) -> None:
    python = host_python("3.12")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "flake.nix").write_text(
        f"""{{
  inputs.nixtox.url = "path:{own_flake}";
  outputs = {{ self, nixtox }}:
    let
      lib = nixtox.lib.forSystem "x86_64-linux";
      wheel = lib.fetchDist {{
        filename = "iniconfig-2.3.1-py3-none-any.whl";
        url = "https://files.pythonhosted.org/packages/56/43/4ca9e49d27a1fcf6bece6f6aec0ea46bb9112489b93d4b688fb415457bdb/iniconfig-2.3.1-py3-none-any.whl";
        sha256 = "9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7";
      }};
    in {{
      packages.x86_64-linux.wheel = wheel;
      packages.x86_64-linux.default = lib.mkEnv {{
        name = "consumer-env";
        python = {json.dumps(python).replace('":', '" =').replace(",", ";").replace("}", "; }")};
        wheels = [ wheel ];
      }};
    }};
}}
"""
    )
    nix = flake_argv(tmp_path)
    overrides = ["--override-input", "nixtox/nixpkgs", f"path:{STANDIN_NIXPKGS}", "--no-write-lock-file"]
    built = _json(
        run([*nix, "build", "--no-link", "--json", f"path:{consumer}#default", *overrides], tmp_path)
    )
    assert isinstance(built, list)
    env = Path(built[0]["outputs"]["out"])
    probe = subprocess.run(
        [env / "bin" / "python", "-c", "import iniconfig; print(iniconfig.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.startswith(str(env))


def _documented_nix_config(tmp: Path) -> str:
    """NIX_CONFIG as docs/howto/flakes.md tells a plain Nix 2.8 user to set it: its ``export`` block,
    plus the lines it gives for root without a daemon and for an offline machine."""
    howto = (REPO_ROOT / "docs" / "howto" / "flakes.md").read_text()
    match = re.search(r"export NIX_CONFIG='([^']*)'", howto)
    assert match is not None, "the flakes how-to no longer shows its NIX_CONFIG"
    for line in ("build-users-group =", "substituters =", "flake-registry", '{"flakes":[],"version":2}'):
        assert line in howto, line
    registry = tmp / "registry.json"
    registry.write_text('{"flakes":[],"version":2}')
    return f"{match[1]}\nbuild-users-group =\nsubstituters =\nflake-registry = {registry}\n"


def test_a_project_gitignore_matching_lib_and_the_howto_s_plain_nix_settings(tmp_path: Path) -> None:
    """The issue's case: the project ignores `lib`; `git add nix/` must still take the library copy's
    lib/, and the flake must evaluate and build with nothing but the how-to's Nix settings."""
    host_python("3.12")  # skips without it
    root = copy_fixture_project("hatchling_proj", tmp_path)
    (root / "tox.ini").write_text(TOX_INI)
    (root / "flake.nix").write_text(FLAKE)
    (root / ".gitignore").write_text("lib\n")
    git(root, "init", "-q")
    exported = nixtox(root, "export")
    assert exported.returncode == 0, exported.stderr
    assert "git ignores" not in exported.stderr
    git(root, "add", "flake.nix", "tox.ini", "pyproject.toml", "src", "tests", ".gitignore", "nix/")
    tracked = subprocess.run(
        ["git", "ls-files", "nix/nixtox-lib/lib"], cwd=root, capture_output=True, text=True, check=True
    )
    assert "nix/nixtox-lib/lib/python.nix" in tracked.stdout.split()
    env = {**os.environ, "NIX_CONFIG": _documented_nix_config(tmp_path)}
    probe = "import iniconfig, sys; print(sys.prefix)"
    shell = run(["nix", "develop", ".#py312", "--command", "python", "-c", probe], root, env=env)
    assert shell.returncode == 0, shell.stderr
    built = _json(run(["nix", "build", ".#py312", "--json"], root, env=env))
    assert isinstance(built, list)
    assert shell.stdout.split()[-1] == built[0]["outputs"]["out"]
    assert (root / "result").resolve() == Path(built[0]["outputs"]["out"])
    check = run(["nix", "flake", "check"], root, env=env)
    assert check.returncode == 0, check.stderr
