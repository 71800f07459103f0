"""tox's ``pylock`` key (PEP 751 in) and ``nixtox lock --export-pylock`` (PEP 751 out), without network."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.pylock import Pylock as PackagingPylock
from packaging.pylock import is_valid_pylock_path
from packaging.tags import Tag

from nixtox.cli import cli
from nixtox.errors import LockError
from nixtox.lock import LOCK_FILE_NAME, Locker, LockPolicy, Pylock, lock_stage, pylock_name, pylock_text
from nixtox.model import CoreConfig, EnvConfig, Envs, EnvSpec, Interpreter, LockedEnv, Project
from nixtox.plugins import find_format
from tests.unit.test_lock import FakeEngine
from tests.unit.test_uvlock import interpreter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHA = "b" * 64


def wheel(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f'{{ name = "{name}-{version}-{tag}.whl", url = "https://files.example/{name}-{version}-{tag}.whl", size = 9, hashes = {{ sha256 = "{SHA}" }} }}'


PYLOCK = textwrap.dedent(
    f"""
    lock-version = "1.0"
    created-by = "hand"
    requires-python = ">=3.10"
    extras = ["cli"]
    dependency-groups = ["tests", "docs"]
    default-groups = ["tests"]

    [[packages]]
    name = "attrs"
    version = "24.2.0"
    requires-python = ">=3.8"
    wheels = [{wheel("attrs", "24.2.0")}]

    [[packages]]
    name = "tomli"
    version = "2.0.1"
    marker = "python_version < '3.11'"
    wheels = [{wheel("tomli", "2.0.1")}]

    [[packages]]
    name = "pytest"
    version = "8.3.5"
    marker = "'tests' in dependency_groups"
    wheels = [{wheel("pytest", "8.3.5")}]

    [[packages]]
    name = "sphinx"
    version = "8.0.0"
    marker = "'docs' in dependency_groups"
    wheels = [{wheel("sphinx", "8.0.0")}]

    [[packages]]
    name = "click"
    version = "8.1.7"
    marker = "'cli' in extras"
    wheels = [{wheel("click", "8.1.7")}]

    [[packages]]
    name = "numpy"
    version = "1.26.4"
    marker = "python_version < '3.12'"
    wheels = [{wheel("numpy", "1.26.4", "cp311-cp311-manylinux_2_17_x86_64")}, {wheel("numpy", "1.26.4", "cp310-cp310-manylinux_2_17_x86_64")}]

    [[packages]]
    name = "numpy"
    version = "2.1.0"
    marker = "python_version >= '3.12'"
    wheels = [{wheel("numpy", "2.1.0", "cp312-cp312-manylinux_2_17_x86_64")}]

    [[packages]]
    name = "demo"
    directory = {{ path = ".", editable = true }}
    """
)

PYPROJECT = """
[build-system]
requires = ["flit_core>=3.2"]
build-backend = "flit_core.buildapi"
[project]
name = "demo"
version = "1.0"
dependencies = ["attrs"]
[project.optional-dependencies]
cli = ["click"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pylock.toml").write_text(PYLOCK)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def select(
    root: Path,
    interp: Interpreter,
    extras: frozenset[str] = frozenset(),
    groups: frozenset[str] = frozenset(),
) -> dict[str, str]:
    chosen = Pylock.read(root / "pylock.toml").select(interp, extras=extras, groups=groups, project="demo")
    return {p.name: p.version for p in chosen.packages}


def packaging_select(root: Path, interp: Interpreter, extras: set[str], groups: set[str]) -> dict[str, str]:
    """packaging's own PEP 751 selection, the reference."""
    lock = PackagingPylock.from_dict(tomllib.loads((root / "pylock.toml").read_text()))
    chosen = lock.select(
        environment=dict(interp.marker_env),  # type: ignore[arg-type]
        tags=[Tag(*tag.split("-")) for tag in interp.tags],
        extras=extras,
        dependency_groups=groups or None,
    )
    return {str(p.name): str(p.version) for p, _ in chosen if p.directory is None}


@pytest.mark.parametrize("minor", [10, 11, 12])
@pytest.mark.parametrize(
    ("extras", "groups"), [(set(), set()), ({"cli"}, set()), (set(), {"docs"}), ({"cli"}, {"tests", "docs"})]
)
def test_selection_agrees_with_packaging(root: Path, minor: int, extras: set[str], groups: set[str]) -> None:
    interp = interpreter(minor)
    assert select(root, interp, extras, groups) == packaging_select(root, interp, extras, groups)


def test_default_groups_apply_when_the_env_names_none(root: Path) -> None:
    assert "pytest" in select(root, interpreter(12))
    assert "pytest" not in select(root, interpreter(12), groups={"docs"})
    assert select(root, interpreter(12))["numpy"] == "2.1.0"
    assert select(root, interpreter(11))["numpy"] == "1.26.4"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('requires-python = ">=3.10"', 'requires-python = ">=3.13"'),
            r"requires-python >=3\.13 excludes Python 3\.12\.1",
        ),
        (
            lambda t: t.replace(
                'created-by = "hand"', 'created-by = "hand"\nenvironments = ["sys_platform == \'win32\'"]'
            ),
            r"none of its environments \(sys_platform == 'win32'\)",
        ),
        (
            lambda t: t.replace("marker = \"python_version < '3.12'\"\n", ""),
            r"two entries of numpy apply",
        ),
        (
            lambda t: (
                t
                + '\n[[packages]]\nname = "lib"\nvcs = { type = "git", url = "https://x/lib", commit-id = "abc" }\n'
            ),
            r"lib is a vcs entry",
        ),
        (
            lambda t: (
                t
                + f'\n[[packages]]\nname = "loc"\nversion = "1"\nwheels = [{{ path = "loc-1-py3-none-any.whl", hashes = {{ sha256 = "{SHA}" }} }}]\n'
            ),
            r"loc is a path entry",
        ),
        (
            lambda t: t.replace(f'hashes = {{ sha256 = "{SHA}" }}', 'hashes = { md5 = "00" }', 1),
            r"attrs-24\.2\.0-py3-none-any\.whl needs hashes\.sha256",
        ),
        (
            lambda t: t.replace('lock-version = "1.0"', 'lock-version = "2.0"'),
            r"lock-version '2\.0' is not 1\.x",
        ),
    ],
)
def test_what_nixtox_cannot_install_is_one_clear_error(root: Path, edit: object, message: str) -> None:
    (root / "pylock.toml").write_text(edit(PYLOCK))  # type: ignore[operator]
    with pytest.raises(LockError, match=message):
        select(root, interpreter(12))


def test_a_package_whose_requires_python_excludes_the_interpreter_is_left_out_as_tox_does(root: Path) -> None:
    # PEP 751 would have installers fail here; tox (whose key this is) skips the package
    (root / "pylock.toml").write_text(
        PYLOCK.replace('requires-python = ">=3.8"', 'requires-python = ">=3.13"')
    )
    assert "attrs" not in select(root, interpreter(12))


# --- the lock stage ----------------------------------------------------------------------------------------


def pylock_spec(name: str = "py312", *, skip: bool = False, **config: object) -> EnvSpec:
    fmt = find_format("skip" if skip else "wheel")
    assert fmt is not None
    return EnvSpec(name, fmt, (name,), name, True, EnvConfig(**{"pylock": "pylock.toml", **config}))  # type: ignore[arg-type]


def run_lock(
    root: Path, env: EnvSpec, interp: Interpreter, engine: FakeEngine | None = None, *, locked: bool = False
) -> LockedEnv:
    project = Project(CoreConfig(root=root, config_file=root / "tox.ini"), (env,))
    envs = lock_stage(
        Envs(project, (env,), (env,)),
        LockPolicy(locked=locked),
        locker=Locker(engine or FakeEngine(), "https://pypi.org/simple"),
        interpreters={env.python: interp},
    )
    if envs.ended:
        raise LockError(next(iter(envs.ended.values())).reason)
    return envs.live[0]


def test_pylock_env_installs_the_lock_pins_and_builds_the_project(root: Path) -> None:
    engine = FakeEngine()
    locked = run_lock(root, pylock_spec(dependency_groups=("docs",)), interpreter(12), engine)
    assert {d.name: d.version for d in locked.dists} == {
        "attrs": "24.2.0",
        "sphinx": "8.0.0",
        "numpy": "2.1.0",
    }
    assert [call.requirements for call in engine.calls] == [("flit_core>=3.2",)]  # only the build env

    engine.calls.clear()
    assert (
        run_lock(root, pylock_spec(dependency_groups=("docs",)), interpreter(12), engine, locked=True)
        == locked
    )
    assert engine.calls == []
    (root / "pylock.toml").write_text(PYLOCK.replace("8.0.0", "8.0.1"))
    with pytest.raises(
        LockError, match=r"stale for env py312: pylock file pylock\.toml, the project's metadata"
    ):
        run_lock(root, pylock_spec(dependency_groups=("docs",)), interpreter(12), locked=True)


def test_pylock_with_deps_or_missing_file_or_a_dependency_it_misses(root: Path) -> None:
    with pytest.raises(
        LockError, match=r"env py312: cannot use both 'deps' and 'pylock' in the same environment"
    ):
        run_lock(root, pylock_spec(deps=("six",)), interpreter(12))
    with pytest.raises(LockError, match=r"env py312: pylock file 'other.toml' not found at .*other\.toml"):
        run_lock(root, pylock_spec(pylock="other.toml"), interpreter(12))
    (root / "pyproject.toml").write_text(PYPROJECT.replace('["attrs"]', '["attrs", "requests"]'))
    with pytest.raises(
        LockError, match=r"pylock file pylock\.toml does not pin requests, a dependency of demo"
    ):
        run_lock(root, pylock_spec(), interpreter(12))
    run_lock(root, pylock_spec(skip=True), interpreter(12))  # without the project its deps do not matter


# --- export ------------------------------------------------------------------------------------------------


def test_export_is_valid_pep_751_and_reads_back_to_the_same_pins(root: Path, tmp_path: Path) -> None:
    locked = run_lock(root, pylock_spec(extras=("cli",)), interpreter(12))
    text = pylock_text(locked, full_version=False)
    assert text == pylock_text(locked, full_version=False)  # deterministic
    data = tomllib.loads(text)
    PackagingPylock.from_dict(data)  # raises when not a valid PEP 751 lock
    assert data["environments"] == [
        "implementation_name == 'cpython' and python_version == '3.12' and sys_platform == 'linux' "
        "and platform_machine == 'x86_64'"
    ]
    exported = tmp_path / pylock_name("py312")
    assert is_valid_pylock_path(exported)
    exported.write_text(text)
    again = Pylock.read(exported).select(interpreter(12, 9), extras=set(), groups=set(), project=None)
    assert {(p.name, p.version, p.files[0].name) for p in again.packages} == {
        (d.name, d.version, d.filename) for d in locked.dists
    }
    with pytest.raises(LockError, match="none of its environments"):
        Pylock.read(exported).select(interpreter(11), extras=set(), groups=set(), project=None)
    assert "python_full_version == '3.12.1'" in pylock_text(locked, full_version=True)


def test_cli_export_writes_named_locks(root: Path) -> None:
    (root / "tox.ini").write_text(
        "[tox]\nskipsdist = true\n[testenv]\nbase_python = py312\n[testenv:a]\npylock = pylock.toml\n[testenv:b]\npylock = pylock.toml\n"
        "dependency_groups = docs\n"
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["lock", "--root", str(root), "--export-pylock"])
    assert result.exit_code == 0, result.output
    assert (root / LOCK_FILE_NAME).is_file()
    assert "sphinx" in (root / "pylock.b.toml").read_text()
    assert "sphinx" not in (root / "pylock.a.toml").read_text()
    result = runner.invoke(cli, ["lock", "--root", str(root), "--export-pylock", "-o", str(root / "x.toml")])
    assert result.exit_code == 2
    assert "error: --output names one file, but 3 envs were selected; pick one with -e ENV" in result.output
    result = runner.invoke(
        cli, ["lock", "--root", str(root), "-e", "b", "--export-pylock", "-o", str(root / "x.toml")]
    )
    assert result.exit_code == 0, result.output
    assert (root / "x.toml").read_text() == (root / "pylock.b.toml").read_text()
    result = runner.invoke(cli, ["lock", "--root", str(root), "-o", str(root / "x.toml")])
    assert result.exit_code == 2
    assert "--output is the file of --export-pylock" in result.output
