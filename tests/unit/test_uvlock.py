"""tox-uv's uv-venv-lock-runner: envs take uv.lock's pins (hand-written locks, fake resolver, no network)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nixtox.errors import LockError
from nixtox.lock import LOCK_FILE_NAME, Locker, LockFile, LockPolicy, UvLock, UvSelection, lock_stage
from nixtox.lock._uvsync import LockCheck, sync_options
from nixtox.model import CoreConfig, EnvConfig, Envs, EnvSpec, Interpreter, LockedEnv, Project
from nixtox.plugins import find_format
from tests.unit.test_lock import FakeEngine

SHA = "a" * 64
PYPI = 'source = { registry = "https://pypi.org/simple" }'


def interpreter(minor: int, patch: int = 1) -> Interpreter:
    full = f"3.{minor}.{patch}"
    markers = {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "6.1",
        "platform_system": "Linux",
        "platform_version": "#1",
        "python_full_version": full,
        "python_version": f"3.{minor}",
        "sys_platform": "linux",
    }
    return Interpreter(
        request=f"py3{minor}",
        implementation="cpython",
        version=(3, minor, patch),
        executable=Path(f"/usr/bin/python3.{minor}"),
        fingerprint="f" * 64,
        tags=(
            f"cp3{minor}-cp3{minor}-manylinux_2_17_x86_64",
            f"cp3{minor}-abi3-manylinux_2_17_x86_64",
            "py3-none-any",
        ),
        marker_env=tuple(sorted(markers.items())),
    )


def wheel(name: str, version: str, tag: str = "py3-none-any") -> str:
    url = f"https://files.example/{name}-{version}-{tag}.whl"
    return f'{{ url = "{url}", hash = "sha256:{SHA}", size = 10 }}'


def package(name: str, version: str, *extra: str, wheels: tuple[str, ...] | None = None) -> str:
    files = ", ".join(wheels if wheels is not None else (wheel(name, version),))
    body = "\n".join(extra)
    return f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n{PYPI}\nwheels = [{files}]\n{body}\n'


UV_LOCK = (
    textwrap.dedent(
        """
        version = 1
        revision = 3
        requires-python = ">=3.10"
        resolution-markers = ["python_full_version >= '3.12'", "python_full_version < '3.12'"]

        [[package]]
        name = "demo"
        version = "1.0"
        source = { editable = "." }
        dependencies = [
            { name = "attrs" },
            { name = "tomli", marker = "python_full_version < '3.11'" },
            { name = "numpy", version = "1.26.4", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version < '3.12'" },
            { name = "numpy", version = "2.1.0", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version >= '3.12'" },
        ]

        [package.optional-dependencies]
        cli = [{ name = "click" }]

        [package.dev-dependencies]
        dev = [{ name = "ruff" }]
        tests = [{ name = "pytest" }, { name = "coverage", extra = ["toml"] }]
        """
    )
    + package("attrs", "24.2.0")
    + package("tomli", "2.0.1")
    + package(
        "numpy",
        "1.26.4",
        "resolution-markers = [\"python_full_version < '3.12'\"]",
        wheels=(
            wheel("numpy", "1.26.4", "cp311-cp311-manylinux_2_17_x86_64"),
            wheel("numpy", "1.26.4", "cp310-cp310-manylinux_2_17_x86_64"),
        ),
    )
    + package(
        "numpy",
        "2.1.0",
        "resolution-markers = [\"python_full_version >= '3.12'\"]",
        wheels=(wheel("numpy", "2.1.0", "cp312-cp312-manylinux_2_17_x86_64"),),
    )
    + package(
        "click", "8.1.7", 'dependencies = [{ name = "colorama", marker = "sys_platform == \'win32\'" }]'
    )
    + package("colorama", "0.4.6")
    + package("ruff", "0.6.0")
    + package(
        "pytest",
        "8.3.5",
        'dependencies = [{ name = "iniconfig" }, '
        '{ name = "exceptiongroup", marker = "python_full_version < \'3.11\'" }]',
    )
    + package("iniconfig", "2.0.0")
    + package("exceptiongroup", "1.2.2")
    + package(
        "coverage",
        "7.6.1",
        "[package.optional-dependencies]",
        'toml = [{ name = "tomli", marker = "python_full_version < \'3.11.4\'" }]',
    )
)

PYPROJECT = """
[build-system]
requires = ["flit_core>=3.2"]
build-backend = "flit_core.buildapi"
[project]
name = "demo"
version = "1.0"
dependencies = ["attrs", "numpy", "tomli; python_version < '3.11'"]
[project.optional-dependencies]
cli = ["click"]
[dependency-groups]
dev = ["ruff"]
tests = ["pytest", "coverage[toml]"]
[tool.tox.env_run_base]
runner = "uv-venv-lock-runner"
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "uv.lock").write_text(UV_LOCK)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    checks: list[tuple[Path, bool]] = []
    monkeypatch.setattr(
        "nixtox.lock._existing.check_uv_lock",
        lambda root, interp, *, update, env_label: checks.append((root, update)),
    )
    monkeypatch.delenv("UV_FROZEN", raising=False)
    return tmp_path


def lock_spec(name: str = "py312", *, skip: bool = False, **config: object) -> EnvSpec:
    fmt = find_format("skip" if skip else "wheel")
    assert fmt is not None
    settings = {"runner": "uv-venv-lock-runner", **config}
    return EnvSpec(name, fmt, (name,), name, True, EnvConfig(**settings))  # type: ignore[arg-type]


def names(locked: LockedEnv) -> dict[str, str]:
    return {d.name: d.version for d in locked.dists}


def run_lock(
    root: Path,
    specs: list[EnvSpec],
    interp: Interpreter,
    *,
    engine: FakeEngine | None = None,
    locked: bool = False,
) -> list[LockedEnv]:
    project = Project(CoreConfig(root=root, config_file=root / "pyproject.toml"), tuple(specs))
    locker = Locker(
        engine or FakeEngine(), "https://pypi.org/simple", sdist_requirements=lambda d, e: ("setuptools",)
    )
    envs = lock_stage(
        Envs(project, tuple(specs), tuple(specs)),
        LockPolicy(locked=locked),
        locker=locker,
        interpreters={s.python: interp for s in specs},
    )
    if envs.ended:
        raise LockError(next(iter(envs.ended.values())).reason)
    return list(envs.live)


# --- selection ---------------------------------------------------------------------------------------------


def select(root: Path, interp: Interpreter, **selection: object) -> dict[str, str]:
    lock = UvLock.read(root / "uv.lock")
    chosen = lock.select(lock.project("demo"), UvSelection(**selection), interp)  # type: ignore[arg-type]
    return {p.name: p.version for p in chosen.packages}


def test_markers_and_forks_follow_the_interpreter(root: Path) -> None:
    assert select(root, interpreter(10)) == {"attrs": "24.2.0", "tomli": "2.0.1", "numpy": "1.26.4"}
    assert select(root, interpreter(12)) == {"attrs": "24.2.0", "numpy": "2.1.0"}


def test_extras_and_groups_and_extras_of_dependencies(root: Path) -> None:
    chosen = select(root, interpreter(11, 7), extras=("cli",), groups=("tests",))
    # click's colorama is Windows-only; coverage[toml] pulls tomli only before 3.11.4
    assert chosen == {
        "attrs": "24.2.0",
        "numpy": "1.26.4",
        "click": "8.1.7",
        "pytest": "8.3.5",
        "iniconfig": "2.0.0",
        "coverage": "7.6.1",
    }
    assert "tomli" in select(root, interpreter(11, 2), groups=("tests",))
    assert "tomli" in select(root, interpreter(10), groups=("tests",))
    assert "exceptiongroup" in select(root, interpreter(10), groups=("tests",))


def test_only_groups_leave_out_the_project_dependencies(root: Path) -> None:
    assert select(root, interpreter(12), project_dependencies=False, groups=("dev",)) == {"ruff": "0.6.0"}


def test_all_extras_minus_no_extra_and_skipped_packages(root: Path) -> None:
    assert "click" in select(root, interpreter(12), all_extras=True)
    assert "click" not in select(root, interpreter(12), all_extras=True, no_extras=("cli",))
    assert "numpy" not in select(root, interpreter(12), skip_packages=("NumPy",))


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"extras": ("gui",)}, r"extra 'gui' is not defined for demo \(known: cli\)"),
        (
            {"groups": ("docs",)},
            r"dependency group 'docs' is not defined for demo \(known: dev, tests\); run `uv lock`",
        ),
    ],
)
def test_unknown_extra_or_group_is_one_clear_error(
    root: Path, selection: dict[str, object], message: str
) -> None:
    with pytest.raises(LockError, match=message):
        select(root, interpreter(12), **selection)


def test_a_local_dependency_or_a_too_old_interpreter_is_refused(root: Path) -> None:
    text = UV_LOCK.replace('{ name = "attrs" },', '{ name = "attrs" }, { name = "sub" },')
    text += '\n[[package]]\nname = "sub"\nversion = "0.1"\nsource = { editable = "packages/sub" }\n'
    (root / "uv.lock").write_text(text)
    with pytest.raises(
        LockError, match=r"sub 0\.1 comes from a local editable source; nixtox installs only the project"
    ):
        select(root, interpreter(12))
    (root / "uv.lock").write_text(UV_LOCK.replace('requires-python = ">=3.10"', 'requires-python = ">=3.11"'))
    with pytest.raises(
        LockError, match=r"the project requires Python >=3\.11; the env's interpreter is 3\.10\.1"
    ):
        select(root, interpreter(10))


def test_a_lock_of_another_project_or_version_is_refused(root: Path) -> None:
    with pytest.raises(LockError, match=r"has no entry for the project 'other'"):
        UvLock.read(root / "uv.lock").project("other")
    (root / "uv.lock").write_text(UV_LOCK.replace("version = 1\n", "version = 7\n", 1))
    with pytest.raises(LockError, match=r"lock version 7 is not supported"):
        UvLock.read(root / "uv.lock")


# --- tox-uv's settings -------------------------------------------------------------------------------------


PYPROJECT_DATA = {"tool": {"uv": {"default-groups": ["dev", "tests"]}}}


@pytest.mark.parametrize(
    ("config", "groups", "project_dependencies"),
    [
        ({}, ("dev", "tests"), True),  # uv's default groups
        ({"dependency_groups": ("tests",)}, ("tests",), True),  # tox-uv: no_default_groups defaults to true
        ({"dependency_groups": ("tests",), "no_default_groups": "false"}, ("dev", "tests"), True),
        ({"uv_sync_flags": ("--no-default-groups",)}, (), True),
        ({"uv_sync_flags": ("--no-dev",)}, ("tests",), True),
        ({"uv_sync_flags": ("--all-groups", "--no-group", "dev")}, ("tests", "lint"), True),
        ({"only_groups": ("lint",)}, ("lint",), False),
        ({"uv_sync_flags": ("--only-group=lint",)}, ("lint",), False),
        ({"uv_sync_flags": ("--only-dev",)}, ("dev",), False),
        ({"uv_sync_flags": ("--group lint",)}, ("dev", "tests", "lint"), True),
    ],
)
def test_groups_follow_tox_uv_and_uv_sync(
    config: dict[str, object], groups: tuple[str, ...], project_dependencies: bool
) -> None:
    options = sync_options(lock_spec(**config), PYPROJECT_DATA, ["dev", "tests", "lint"], environ={})
    assert options.selection.groups == groups
    assert options.selection.project_dependencies is project_dependencies


def test_extras_flags_and_the_check_mode() -> None:
    options = sync_options(
        lock_spec(
            extras=("cli",), uv_sync_flags=("--extra", "gui", "--no-install-package=numpy", "--reinstall")
        ),
        {},
        [],
        environ={},
    )
    assert options.selection.extras == ("cli", "gui")
    assert options.selection.skip_packages == ("numpy",)
    assert options.check == LockCheck.LOCKED
    assert sync_options(lock_spec(uv_sync_locked=False), {}, [], environ={}).check == LockCheck.UPDATE
    assert sync_options(lock_spec(), {}, [], environ={"UV_FROZEN": "1"}).check == LockCheck.FROZEN
    assert (
        sync_options(lock_spec(set_env=(("UV_FROZEN", "true"),)), {}, [], environ={}).check
        == LockCheck.FROZEN
    )
    assert sync_options(lock_spec(uv_sync_flags=("--frozen",)), {}, [], environ={}).check == LockCheck.FROZEN


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--upgrade",),
            r"env py312: uv_sync_flags: nixtox does not support '--upgrade' for an env installed from uv\.lock",
        ),
        (("--extra",), r"env py312: uv_sync_flags: --extra needs a value"),
        (("--index-url", "https://mirror"), r"does not support '--index-url'"),
    ],
)
def test_unsupported_uv_sync_flags_are_refused(flags: tuple[str, ...], message: str) -> None:
    with pytest.raises(LockError, match=message):
        sync_options(lock_spec(uv_sync_flags=flags), {}, [], environ={})


def test_bad_no_default_groups_value_is_refused() -> None:
    with pytest.raises(LockError, match=r"env py312: no_default_groups = 'maybe' is not a boolean"):
        sync_options(lock_spec(no_default_groups="maybe"), {}, [], environ={})


# --- the lock stage ----------------------------------------------------------------------------------------


def test_lock_runner_env_takes_uv_lock_pins_without_resolving_them(root: Path) -> None:
    engine = FakeEngine()
    (locked,) = run_lock(root, [lock_spec(dependency_groups=("tests",))], interpreter(12), engine=engine)
    assert names(locked) == {
        "attrs": "24.2.0",
        "numpy": "2.1.0",
        "pytest": "8.3.5",
        "iniconfig": "2.0.0",
        "coverage": "7.6.1",
    }
    numpy = next(d for d in locked.dists if d.name == "numpy")
    assert numpy.filename == "numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    # the resolver is asked only for the project's build environment, which uv.lock does not pin
    assert [call.requirements for call in engine.calls] == [("flit_core>=3.2",)]
    assert [d.name for d in locked.build_dists] == ["flit_core"]
    assert "demo" not in names(locked)  # the project is built from its tree


def test_entry_is_reused_until_uv_lock_or_what_uv_locks_from_changes(root: Path) -> None:
    env = lock_spec(dependency_groups=("tests",))
    run_lock(root, [env], interpreter(12))
    entry = LockFile.read(root / LOCK_FILE_NAME).entries["py312"]

    engine = FakeEngine()
    run_lock(root, [env], interpreter(12), engine=engine)
    assert engine.calls == []
    # a [tool.tox] edit does not touch what uv locks from
    (root / "pyproject.toml").write_text(PYPROJECT + 'description = "x"\n')
    run_lock(root, [env], interpreter(12), engine=engine, locked=True)
    assert LockFile.read(root / LOCK_FILE_NAME).entries["py312"] == entry

    (root / "uv.lock").write_text(UV_LOCK.replace('"8.3.5"', '"8.3.4"'))
    with pytest.raises(
        LockError,
        match=r"stale for env py312: uv\.lock, the project's metadata or the env's selection changed",
    ):
        run_lock(root, [env], interpreter(12), locked=True)
    (locked,) = run_lock(root, [env], interpreter(12))
    assert names(locked)["pytest"] == "8.3.4"


def test_uv_lock_is_checked_against_pyproject_before_it_is_used(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stale(root: Path, interp: Interpreter, *, update: bool, env_label: str) -> None:
        raise LockError(f"env {env_label}: uv.lock is stale (pyproject.toml changed since `uv lock`): ...")

    monkeypatch.setattr("nixtox.lock._existing.check_uv_lock", stale)
    with pytest.raises(LockError, match=r"env py312: uv\.lock is stale"):
        run_lock(root, [lock_spec()], interpreter(12))
    monkeypatch.setenv("UV_FROZEN", "1")  # as tox-uv: --frozen, no check
    run_lock(root, [lock_spec()], interpreter(12))


def test_a_missing_uv_lock_is_one_clear_error(root: Path) -> None:
    (root / "uv.lock").unlink()
    with pytest.raises(
        LockError,
        match=r"env py312: runner = uv-venv-lock-runner installs from uv\.lock, but .* does not exist; run `uv lock`",
    ):
        run_lock(root, [lock_spec()], interpreter(12))


def test_project_left_out_by_uv_must_be_left_out_by_nixtox(root: Path) -> None:
    with pytest.raises(LockError, match=r"uv sync would leave the project out .*; set `package = skip`"):
        run_lock(root, [lock_spec(only_groups=("dev",))], interpreter(12))
    (locked,) = run_lock(root, [lock_spec(skip=True, only_groups=("dev",))], interpreter(12))
    assert names(locked) == {"ruff": "0.6.0"}
    assert locked.build_dists == ()


def test_a_sdist_only_package_gets_its_build_requirements_resolved(root: Path) -> None:
    sdist = (
        f'sdist = {{ url = "https://files.example/docopt-0.6.2.tar.gz", hash = "sha256:{SHA}", size = 5 }}'
    )
    text = UV_LOCK.replace('{ name = "attrs" },', '{ name = "attrs" }, { name = "docopt" },')
    text += f'\n[[package]]\nname = "docopt"\nversion = "0.6.2"\n{PYPI}\n{sdist}\n'
    (root / "uv.lock").write_text(text)
    engine = FakeEngine()
    (locked,) = run_lock(root, [lock_spec(skip=True)], interpreter(12), engine=engine)
    docopt = next(d for d in locked.dists if d.name == "docopt")
    assert docopt.kind == "sdist"
    assert [b.name for b in docopt.build_requires] == ["setuptools"]


def test_pins_hold_across_patch_releases_unless_a_marker_splits_them(root: Path) -> None:
    env = lock_spec(dependency_groups=("tests",))
    (first,) = run_lock(root, [env], interpreter(12, 7))
    assert first.lock_interpreter.startswith("cpython-3.12-")
    engine = FakeEngine()
    (again,) = run_lock(root, [env], interpreter(12, 2), engine=engine, locked=True)
    assert again.dists == first.dists
    assert engine.calls == []

    # coverage[toml]'s tomli marker has a patch-level bound on 3.11: a 3.11 lock pins the patch release
    env311 = lock_spec("py311", dependency_groups=("tests",))
    (py311,) = run_lock(root, [env311], interpreter(11, 7))
    assert py311.lock_interpreter.startswith("cpython-3.11.7-")
    assert "tomli" not in names(py311)
    with pytest.raises(
        LockError, match=r"stale for env py311: the interpreter changed \(locked for cpython-3\.11\.7-"
    ):
        run_lock(root, [env311], interpreter(11, 2), locked=True)
    (relocked,) = run_lock(root, [env311], interpreter(11, 2))
    assert "tomli" in names(relocked)


def test_lock_runner_ignores_deps_as_tox_uv_does(root: Path) -> None:
    engine = FakeEngine()
    (locked,) = run_lock(root, [lock_spec(deps=("requests",))], interpreter(12), engine=engine)
    assert "requests" not in names(locked)
    assert [call.requirements for call in engine.calls] == [("flit_core>=3.2",)]
