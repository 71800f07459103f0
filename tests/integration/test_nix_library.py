"""The Nix library in nix/ against the real Nix, real PyPI wheels and real interpreters.

One session-scoped nix-build call realises every environment of the matrix (fixture project x
interpreter x package format); the tests then run each project's own test suite with the
environment's interpreter, and check the properties the rest of nixtox relies on: valid pycs,
reproducible outputs, metadata JSON, clear build errors, shells.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from nixtox.source import metadata_hash
from tests.integration.conftest import (
    HATCHLING_WHEELS,
    PYTEST_WHEELS,
    copy_fixture_project,
    host_python,
    library_import,
    nix_argv,
    nix_build,
    nix_build_all,
    nix_build_outcome,
    nix_eval_json,
    nix_string,
    pins_nix,
    python_nix,
)

pytestmark = [pytest.mark.nix, pytest.mark.usefixtures("nix_required")]

PYTHONS = ("3.11", "3.12")
FORMATS = ("wheel", "sdist", "editable")


@dataclass(frozen=True)
class FixtureProject:
    directory: str
    pname: str
    module: str
    build_requires: tuple[str, ...]
    editable_requires: tuple[str, ...] = ()


PROJECTS = {
    p.directory: p
    for p in (
        FixtureProject("setuptools_proj", "setuptools-proj", "setuptools_proj", ("setuptools",)),
        FixtureProject(
            "hatchling_proj", "hatchling-proj", "hatchling_proj", HATCHLING_WHEELS, ("editables",)
        ),
        FixtureProject("flit_proj", "flit_proj", "flit_proj", ("flit-core",)),
        FixtureProject("missing_in_sdist", "missing-in-sdist", "missing_in_sdist", ("setuptools",)),
    )
}
MATRIX = [
    (p, py, f) for p in ("setuptools_proj", "hatchling_proj", "flit_proj") for py in PYTHONS for f in FORMATS
]
MATRIX += [("missing_in_sdist", "3.12", f) for f in ("wheel", "sdist")]


def env_attr(project: str, python: str, fmt: str) -> str:
    return f"{project}-py{python.replace('.', '')}-{fmt}"


def wheel_list(names: tuple[str, ...] | list[str]) -> str:
    return "[ " + " ".join(f"pins.{nix_string(n)}" for n in names) + " ]"


def matrix_expression(roots: dict[str, Path], pythons: dict[str, dict[str, str]]) -> str:
    """One expression with `envs.<attr>`, `dists.<attr>` for the whole matrix, and a `shell`."""
    needed = set(PYTEST_WHEELS)
    for project in PROJECTS.values():
        needed |= set(project.build_requires) | set(project.editable_requires)
    project_lines = []
    for name, project in PROJECTS.items():
        project_lines.append(
            f"    {name} = {{ pname = {nix_string(project.pname)}; root = {nix_string(str(roots[name]))}; "
            f"metadataHash = {nix_string(metadata_hash(roots[name]))}; "
            f"buildRequires = {wheel_list(project.build_requires)}; "
            f"editableRequires = {wheel_list(project.editable_requires)}; }};"
        )
    python_lines = [f"    py{v.replace('.', '')} = {python_nix(p)};" for v, p in pythons.items()]
    entries = []
    for directory, python, fmt in MATRIX:
        attr = env_attr(directory, python, fmt)
        entries.append(
            f'    "{attr}" = dist projects.{directory} pythons.py{python.replace(".", "")} "{fmt}";'
        )
    return textwrap.dedent(
        """\
        let
          nixtox = {library};
          pins = {pins};
          pythons = {{
        {pythons}
          }};
          projects = {{
        {projects}
          }};
          dist = project: python: format:
            nixtox.buildDist ({{
              inherit (project) pname;
              inherit python format;
              buildRequires = project.buildRequires
                ++ (if format == "editable" then project.editableRequires else [ ]);
            }} // (if format == "editable"
              then {{ projectRoot = project.root; inherit (project) metadataHash; }}
              else {{ src = nixtox.projectSource {{ path = project.root; }}; }}));
          dists = {{
        {entries}
          }};
          pytestWheels = {pytest};
          envs = builtins.mapAttrs (name: d: nixtox.mkEnv {{
            inherit name;
            inherit (d) python;
            wheels = [ d ] ++ pytestWheels;
          }}) dists;
        in
        {{
          inherit dists envs;
          outPaths = builtins.mapAttrs (_: e: e.outPath) envs;
          shell = nixtox.mkShell {{ env = envs."{shell_env}"; shellHook = "export NIXTOX_SHELL_TEST=1"; }};
        }}
        """
    ).format(
        library=library_import(),
        pins=pins_nix(sorted(needed)),
        pythons="\n".join(python_lines),
        projects="\n".join(project_lines),
        entries="\n".join(entries),
        pytest=wheel_list(list(PYTEST_WHEELS)),
        shell_env=env_attr("setuptools_proj", "3.12", "wheel"),
    )


@dataclass(frozen=True)
class Matrix:
    expr: Path
    roots: dict[str, Path]
    envs: dict[str, Path]
    pythons: dict[str, dict[str, str]]


@pytest.fixture(scope="session")
def matrix(nix_required: None, tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    """Every environment of MATRIX, realised by one nix-build call (parallel, cached by the store)."""
    projects_dir = tmp_path_factory.mktemp("nix-projects")
    roots = {name: copy_fixture_project(name, projects_dir) for name in PROJECTS}
    pythons = {v: host_python(v) for v in PYTHONS}
    expr = tmp_path_factory.mktemp("nix-expr") / "matrix.nix"
    expr.write_text(matrix_expression(roots, pythons), encoding="utf-8")
    attrs = [f"envs.{env_attr(*cell)}" for cell in MATRIX]
    nix_build_all(expr, attrs, extra=["--max-jobs", "2"])
    out_paths = nix_eval_json(expr, "outPaths")
    assert isinstance(out_paths, dict)
    return Matrix(expr, roots, {k: Path(v) for k, v in out_paths.items()}, pythons)


def clean_env(env: Path) -> dict[str, str]:
    return {
        "PATH": f"{env}/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "VIRTUAL_ENV": str(env),
        "LC_ALL": "C.UTF-8",
    }


def run_in_env(env: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(env / "bin" / "python"), *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_project_tests(
    matrix: Matrix, project: str, python: str, fmt: str
) -> subprocess.CompletedProcess[str]:
    env = matrix.envs[env_attr(project, python, fmt)]
    return run_in_env(env, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], matrix.roots[project])


@pytest.mark.parametrize(
    ("project", "python", "fmt"), [cell for cell in MATRIX if cell[0] != "missing_in_sdist"], ids=lambda v: v
)
def test_project_suite_passes_in_env(
    matrix: Matrix, project: str, python: str, fmt: str, tmp_path: Path
) -> None:
    env = matrix.envs[env_attr(project, python, fmt)]
    result = run_project_tests(matrix, project, python, fmt)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout

    # the suite ran against the env's interpreter, and the package came from where the format says
    module = PROJECTS[project].module
    probe = run_in_env(
        env, ["-c", f"import sys, {module}; print(sys.version); print({module}.__file__)"], tmp_path
    )
    assert probe.returncode == 0, probe.stderr
    version_line, module_file = probe.stdout.splitlines()
    assert version_line.startswith(matrix.pythons[python]["version"])
    if fmt == "editable":
        assert Path(module_file).is_relative_to(matrix.roots[project])
    else:
        assert Path(module_file).is_relative_to(env)


def test_missing_in_sdist_fails_from_sdist_and_passes_from_wheel(matrix: Matrix) -> None:
    from_wheel = run_project_tests(matrix, "missing_in_sdist", "3.12", "wheel")
    assert from_wheel.returncode == 0, from_wheel.stdout + from_wheel.stderr

    from_sdist = run_project_tests(matrix, "missing_in_sdist", "3.12", "sdist")
    assert from_sdist.returncode == 1, from_sdist.stdout + from_sdist.stderr
    assert "1 failed, 1 passed" in from_sdist.stdout
    assert "greeting.txt" in from_sdist.stdout


def test_sdist_build_keeps_the_sdist_and_records_metadata(matrix: Matrix) -> None:
    attr = env_attr("missing_in_sdist", "3.12", "sdist")
    dist = nix_build(matrix.expr, f"dists.{attr}")
    files = sorted(p.name for p in dist.iterdir())
    assert files == [
        "missing_in_sdist-1.0.0-py3-none-any.whl",
        "missing_in_sdist-1.0.0.tar.gz",
        "nix-support",
    ]
    meta = json.loads((dist / "nix-support" / "nixtox-dist.json").read_text())
    assert meta["name"] == "missing-in-sdist"
    assert meta["version"] == "1.0.0"
    assert meta["format"] == "sdist"
    assert meta["sdist"] == "missing_in_sdist-1.0.0.tar.gz"


def test_env_is_venv_shaped_with_metadata_json(matrix: Matrix) -> None:
    env = matrix.envs[env_attr("setuptools_proj", "3.12", "wheel")]
    python = matrix.pythons["3.12"]
    assert (env / "bin" / "python").resolve() == Path(python["executable"]).resolve()
    cfg = (env / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    assert f"version = {python['version']}" in cfg
    assert (env / "lib" / "python3.12" / "site-packages" / "setuptools_proj" / "__init__.py").is_file()

    script = env / "bin" / "setuptools-proj-hello"
    assert script.read_text().splitlines()[0] == f"#!{env}/bin/python"

    meta = json.loads((env / "nix-support" / "nixtox-env.json").read_text())
    assert meta["name"] == env_attr("setuptools_proj", "3.12", "wheel")
    assert meta["python"]["version"] == python["version"]
    # names as the distributions spell them (METADATA's Name, as pip freeze shows them)
    dists = {d["name"]: d["version"] for d in meta["dists"]}
    assert dists["setuptools-proj"] == "0.1.0"
    assert dists["pytest"] == "9.2.0"
    assert set(dists) == {"setuptools-proj", "pytest", "iniconfig", "packaging", "pluggy", "Pygments"}


PYC_CHECK = """
import importlib.util, os, pathlib, sys
site = pathlib.Path(sys.argv[1])
checked = bad = 0
# the env links its layers' directories: walk through the links
pycs = [
    pathlib.Path(d, f) for d, _, files in os.walk(site, followlinks=True)
    if os.path.basename(d) == "__pycache__" for f in files if f.endswith(".pyc")
]
for pyc in pycs:
    name = pyc.name.split(".")[0]
    source = pyc.parent.parent / (name + ".py")
    if not source.exists():
        continue
    data = pyc.read_bytes()
    flags = int.from_bytes(data[4:8], "little")
    if data[:4] != importlib.util.MAGIC_NUMBER:
        ok = False
    elif flags & 1:
        ok = data[8:16] == importlib.util.source_hash(source.read_bytes())
    else:
        st = source.stat()
        ok = int.from_bytes(data[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
    checked += 1
    if not ok:
        bad += 1
        print("invalid", pyc)
print("checked", checked, "bad", bad)
"""


def test_env_pycs_are_valid_when_imported(matrix: Matrix, tmp_path: Path) -> None:
    env = matrix.envs[env_attr("hatchling_proj", "3.11", "wheel")]
    site = env / "lib" / "python3.11" / "site-packages"
    result = run_in_env(env, ["-c", PYC_CHECK, str(site)], tmp_path)
    assert result.returncode == 0, result.stderr
    checked, bad = (int(w) for w in result.stdout.split()[-3::2])
    assert checked > 100
    assert bad == 0, result.stdout

    # importing uses the store's pycs as they are: no "bytecode is stale", no attempt to write
    verbose = run_in_env(env, ["-v", "-c", "import pytest, hatchling_proj"], tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "stale" not in verbose.stderr
    assert (
        f"# {site}/pytest/__pycache__/__init__.cpython-311.pyc matches {site}/pytest/__init__.py"
        in verbose.stderr
    )
    assert f"{site}/hatchling_proj/__pycache__/__init__.cpython-311.pyc matches" in verbose.stderr
    assert "could not create" not in verbose.stderr


def test_env_and_wheel_are_reproducible(matrix: Matrix) -> None:
    attr = env_attr("setuptools_proj", "3.12", "wheel")
    outcome = nix_build_outcome(matrix.expr, [f"envs.{attr}", f"dists.{attr}"], extra=["--check"])
    assert outcome.ok, outcome.stderr[-3000:]


def test_shell_works_with_nix_develop(matrix: Matrix, tmp_path: Path) -> None:
    if shutil.which("nix") is None:
        pytest.skip("the nix command is not on PATH")
    registry = tmp_path / "registry.json"
    registry.write_text('{"flakes":[],"version":2}')
    argv = [
        *nix_argv("nix"),
        "--option", "experimental-features", "nix-command flakes",
        "--option", "flake-registry", str(registry),
        "develop", "-f", str(matrix.expr), "shell",
        "--command", "python", "-c", "import os, sys; print(sys.prefix, os.environ['NIXTOX_SHELL_TEST'])",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    env = matrix.envs[env_attr("setuptools_proj", "3.12", "wheel")]
    assert result.stdout.split() == [str(env), "1"]
    assert "nixtox: environment" in result.stderr


def small_expression(python: dict[str, str], body: str, pins: tuple[str, ...] = ()) -> str:
    """``let nixtox, pins, python in <body>`` as expression text."""
    return (
        f"let\n  nixtox = {library_import()};\n  pins = {pins_nix(pins)};\n"
        f"  python = {python_nix(python)};\nin\n{body}\n"
    )


def write_project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_backend_failure_shows_backend_output_and_a_clear_last_line(
    nix_required: None, tmp_path: Path
) -> None:
    root = write_project(
        tmp_path / "broken",
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["setuptools>=61"]
                build-backend = "setuptools.build_meta"
            """,
            "setup.py": "from setuptools import setup\nsetup(name='broken-proj', version='1.0'\n",
        },
    )
    body = f"""nixtox.buildDist {{
      pname = "broken-proj"; inherit python; buildRequires = [ pins.setuptools ];
      src = nixtox.projectSource {{ path = {nix_string(str(root))}; }};
    }}"""
    outcome = nix_build_outcome(small_expression(host_python("3.12"), body, ("setuptools",)))
    assert not outcome.ok
    assert "SyntaxError" in outcome.stderr  # the backend's own output reaches the user
    assert "nixtox: build backend 'setuptools.build_meta' failed for broken-proj (wheel)" in outcome.stderr


def test_requirement_asked_by_the_backend_but_not_declared_is_named(matrix: Matrix) -> None:
    """hatchling's editable build asks for `editables`; without it the error names it."""
    root = nix_string(str(matrix.roots["hatchling_proj"]))
    body = f"""nixtox.buildDist {{
      pname = "hatchling-proj"; inherit python; format = "editable"; projectRoot = {root};
      metadataHash = {nix_string(metadata_hash(matrix.roots["hatchling_proj"]))};
      buildRequires = {wheel_list(list(HATCHLING_WHEELS))};
    }}"""
    outcome = nix_build_outcome(small_expression(matrix.pythons["3.12"], body, HATCHLING_WHEELS))
    assert not outcome.ok
    assert "nixtox: the build backend 'hatchling.build' of hatchling-proj needs editables" in outcome.stderr
    assert "add them to the packagedef's build_requires" in outcome.stderr


def test_conflicting_files_between_wheels_name_both(nix_required: None, tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "impostor",
        {
            "pyproject.toml": """\
                [build-system]
                requires = ["flit_core>=3.4,<5"]
                build-backend = "flit_core.buildapi"

                [project]
                name = "impostor"
                version = "1.0"
                description = "ships a module named like another distribution's"

                [tool.flit.module]
                name = "iniconfig"
            """,
            "iniconfig/__init__.py": '"""Not the real iniconfig."""\n',
        },
    )
    body = f"""nixtox.mkEnv {{
      name = "clash"; inherit python;
      wheels = [
        pins.iniconfig
        (nixtox.buildDist {{
          pname = "impostor"; inherit python; buildRequires = [ pins."flit-core" ];
          src = nixtox.projectSource {{ path = {nix_string(str(root))}; }};
        }})
      ];
    }}"""
    outcome = nix_build_outcome(small_expression(host_python("3.12"), body, ("iniconfig", "flit-core")))
    assert not outcome.ok
    assert "nixtox: conflicting file " in outcome.stderr
    assert (
        "iniconfig/__init__.py: written by both iniconfig-2.3.1-py3-none-any.whl and impostor-1.0"
        in outcome.stderr
    )


def test_editable_env_depends_on_metadata_not_on_source(nix_required: None, tmp_path: Path) -> None:
    root = copy_fixture_project("flit_proj", tmp_path)

    def expression() -> str:
        body = f"""nixtox.mkEnv {{
          name = "editable"; inherit python;
          wheels = [ (nixtox.buildDist {{
            pname = "flit_proj"; inherit python; format = "editable"; projectRoot = {nix_string(str(root))};
            metadataHash = {nix_string(metadata_hash(root))}; buildRequires = [ pins."flit-core" ];
          }}) ];
        }}"""
        return small_expression(host_python("3.12"), body, ("flit-core",))

    expr = expression()
    env = nix_build(expr)
    assert run_in_env(env, ["-c", "import flit_proj; print(flit_proj.double(2))"], tmp_path).stdout == "4\n"

    module = root / "src" / "flit_proj" / "__init__.py"
    module.write_text(module.read_text().replace("2 * x", "3 * x"))
    assert nix_eval_json(expr, "outPath") == str(env)  # same derivation: no rebuild for a source edit
    assert run_in_env(env, ["-c", "import flit_proj; print(flit_proj.double(2))"], tmp_path).stdout == "6\n"

    pyproject = root / "pyproject.toml"
    assert nix_eval_json(expression(), "outPath") == str(env)
    pyproject.write_text(pyproject.read_text().replace('version = "0.3.0"', 'version = "0.4.0"'))
    assert nix_eval_json(expression(), "outPath") != str(env)  # a metadata edit does rebuild


def test_wheel_from_an_sdist_file(matrix: Matrix) -> None:
    """`src` may be an sdist file, as for a dependency published only as an sdist."""
    sdist_build = nix_build(matrix.expr, f"dists.{env_attr('setuptools_proj', '3.12', 'sdist')}")
    sdist = sdist_build / "setuptools_proj-0.1.0.tar.gz"
    body = f"""nixtox.buildDist {{
      pname = "setuptools-proj"; inherit python; buildRequires = [ pins.setuptools ];
      src = builtins.storePath {nix_string(str(sdist_build))} + "/setuptools_proj-0.1.0.tar.gz";
    }}"""
    out = nix_build(small_expression(matrix.pythons["3.11"], body, ("setuptools",)))
    assert sdist.is_file()
    assert sorted(p.name for p in out.iterdir()) == ["nix-support", "setuptools_proj-0.1.0-py3-none-any.whl"]


def test_interpreter_fingerprint_changes_every_hash(matrix: Matrix) -> None:
    attr = env_attr("flit_proj", "3.12", "wheel")
    python = dict(matrix.pythons["3.12"])
    body = 'let e = import {expr}; in {{ env = e.envs."{attr}".drvPath; dist = e.dists."{attr}".drvPath; }}'
    before = nix_eval_json(body.format(expr=matrix.expr, attr=attr))
    text = matrix.expr.read_text().replace(python["fingerprint"], python["fingerprint"] + "-upgraded")
    upgraded = matrix.expr.with_name("upgraded.nix")
    upgraded.write_text(text)
    after = nix_eval_json(body.format(expr=upgraded, attr=attr))
    assert isinstance(before, dict)
    assert isinstance(after, dict)
    assert before["env"] != after["env"]
    assert before["dist"] != after["dist"]
