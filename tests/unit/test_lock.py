"""The lock stage with a fake resolver engine: keys, reuse, staleness, errors (no network)."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from nixtox.errors import LockError
from nixtox.lock import (
    LOCK_FILE_NAME,
    DistFile,
    Locker,
    LockFile,
    LockPolicy,
    ResolutionError,
    ResolvedPackage,
    ResolverEngine,
    ResolveRequest,
    env_requirements,
    lock_stage,
    verify_lock_entry,
)
from nixtox.model import (
    CoreConfig,
    DistKind,
    EnvConfig,
    Envs,
    EnvSpec,
    Interpreter,
    LockedDist,
    LockedEnv,
    PackageDef,
    Project,
)
from nixtox.plugins import find_format

SHA = "a" * 64


def interpreter(minor: int = 12) -> Interpreter:
    tags = (
        f"cp3{minor}-cp3{minor}-manylinux_2_17_x86_64",
        f"cp3{minor}-abi3-manylinux_2_17_x86_64",
        "py3-none-any",
    )
    return Interpreter(
        request=f"py3{minor}",
        implementation="cpython",
        version=(3, minor, 1),
        executable=Path(f"/usr/bin/python3.{minor}"),
        fingerprint="f" * 64,
        tags=tags,
        marker_env=(("python_full_version", f"3.{minor}.1"), ("python_version", f"3.{minor}")),
    )


class FakeEngine:
    """Pins every requirement name to version 1.0 with a pure wheel; remembers what it was asked."""

    name = "fake"

    def __init__(self, packages: dict[str, ResolvedPackage] | None = None) -> None:
        self.calls: list[ResolveRequest] = []
        self.packages = packages or {}

    def resolve(self, request: ResolveRequest) -> list[ResolvedPackage]:
        self.calls.append(request)
        result = []
        for line in request.requirements:
            if line.startswith((".", "/")):  # a local directory, as uv reports one
                path = (request.cwd / line.split("[")[0]).resolve()
                name = "demo" if path == request.cwd.resolve() else path.name
                result.append(ResolvedPackage(name, "", (), directory=str(path)))
                continue
            name = re.split(r"[\s@\[<>=~!;]", line, maxsplit=1)[0]
            if name == "unresolvable":
                raise ResolutionError("Because unresolvable was not found in the package registry")
            result.append(self.packages.get(name) or pure(name))
        return result


def pure(name: str, version: str = "1.0") -> ResolvedPackage:
    filename = f"{name}-{version}-py3-none-any.whl"
    return ResolvedPackage(name, version, (DistFile(f"https://files.example/{filename}", SHA, 10),))


def make_project(root: Path, *specs: EnvSpec) -> Project:
    return Project(CoreConfig(root=root, config_file=root / "tox.ini"), specs)


def spec(name: str = "py312", **config: object) -> EnvSpec:
    fmt = find_format("skip" if config.get("skip_install") else "wheel")
    assert fmt is not None
    return EnvSpec(name, fmt, (name,), name, True, EnvConfig(**config))  # type: ignore[arg-type]


def lock_envs(
    project: Project,
    specs: tuple[EnvSpec, ...] | list[EnvSpec],
    interpreters: dict[str, Interpreter],
    *,
    locked: bool = False,
    upgrade: bool = False,
    prune: bool = False,
    engine: ResolverEngine | None = None,
    locker: Locker | None = None,
) -> list[LockedEnv]:
    """The lock stage on ``specs`` (interpreters given by env key); the first env's error is raised."""
    chosen = tuple(specs)
    by_request = {env.python: interpreters[env.key] for env in chosen}
    envs = lock_stage(
        Envs(project, chosen, chosen),
        LockPolicy(locked=locked, upgrade=upgrade, prune=prune),
        engine=engine or FakeEngine(),
        locker=locker,
        interpreters=by_request,
    )
    if envs.ended:
        raise LockError(next(iter(envs.ended.values())).reason)
    return list(envs.live)


def lock_env(project: Project, env: EnvSpec, interp: Interpreter, **kwargs: object) -> LockedEnv:
    return lock_envs(project, [env], {env.key: interp}, **kwargs)[0]  # type: ignore[arg-type]


def write_lock(
    project: Project,
    specs: list[EnvSpec],
    interpreters: dict[str, Interpreter],
    *,
    engine: ResolverEngine | None = None,
    upgrade: bool = False,
) -> Path:
    """What ``nixtox lock`` does: lock, prune the envs the project no longer has."""
    lock_envs(project, specs, interpreters, engine=engine, upgrade=upgrade, prune=True)
    return project.core.root / LOCK_FILE_NAME


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["flit_core>=3.2"]
            build-backend = "flit_core.buildapi"
            [project]
            name = "demo"
            version = "1"
            dependencies = ["attrs"]
            [project.optional-dependencies]
            test = ["iniconfig", "demo[extra2]"]
            extra2 = ["six"]
            [dependency-groups]
            lint = ["pyflakes"]
            dev = [{include-group = "lint"}, "tomli"]
            """
        )
    )
    return tmp_path


def test_requirements_gather_deps_extras_groups_and_build(root: Path) -> None:
    (root / "reqs.txt").write_text("pytest>=8  # the runner\n-c cons.txt\n")
    (root / "cons.txt").write_text("pytest<10\n")
    env = spec(deps=("-r reqs.txt", "coverage"), extras=("test",), dependency_groups=("dev",))
    reqs = env_requirements(env, make_project(root).core)
    # the project itself, with its extras, as a local requirement: its dependencies come from its metadata
    assert reqs.requirements == ("pytest>=8", "coverage", ".[test]", "pyflakes", "tomli")
    assert reqs.local_project == "demo"
    assert reqs.constraints == ("pytest<10",)
    assert reqs.build_requirements == ("flit_core>=3.2",)


def test_skip_install_keeps_groups_but_not_the_project(root: Path) -> None:
    env = spec(deps=("pytest",), skip_install=True, dependency_groups=("lint",))
    reqs = env_requirements(env, make_project(root).core)
    assert reqs.requirements == ("pytest", "pyflakes")
    assert reqs.build_requirements == ()


def test_packagedef_build_requires_join_the_build_env(root: Path) -> None:
    env = dataclasses.replace(spec(), packagedef=PackageDef("p", build_requires=("setuptools-scm",)))
    reqs = env_requirements(env, make_project(root).core)
    assert reqs.build_requirements == ("flit_core>=3.2", "setuptools-scm")


def test_dynamic_project_is_resolved_as_a_local_path(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("from setuptools import setup; setup(name='dyn')\n")
    engine = FakeEngine()
    env = spec(extras=("t",))
    locked = lock_env(make_project(tmp_path, env), env, interpreter(), engine=engine)
    assert engine.calls[0].requirements == (".[t]",)
    # the project itself is not part of the lock; the default build system is
    assert [d.name for d in locked.build_dists] == ["setuptools"]


def test_local_projects_and_files_in_deps_are_locked_by_root_relative_paths(root: Path) -> None:
    other = root / "libs" / "other"
    (other / "other").mkdir(parents=True)
    (other / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "other"\nversion = "2"\n'
    )
    (root / "dist").mkdir()
    (root / "dist" / "pkg-1.0-py3-none-any.whl").write_bytes(b"a wheel")
    env = spec(deps=("-e libs/other", "./dist/pkg-1.0-py3-none-any.whl"), skip_install=True)
    reqs = env_requirements(env, make_project(root).core)
    assert reqs.requirements == ("./libs/other", "./dist/pkg-1.0-py3-none-any.whl")
    assert reqs.editable_paths == ("./libs/other",)
    assert [line.split("=")[0] for line in reqs.local_inputs] == [
        "./dist/pkg-1.0-py3-none-any.whl",
        "./libs/other",
    ]
    locked = lock_env(make_project(root, env), env, interpreter(), engine=FakeEngine())
    (lib,) = (d for d in locked.dists if d.name == "other")
    assert (lib.kind, lib.path, lib.editable) == (DistKind.DIRECTORY, "./libs/other", True)
    assert [b.name for b in lib.build_requires] == [
        "editables",
        "hatchling",
    ]  # editable: hatchling asks for it
    again = LockFile.read(root / "nixtox.lock").entries["py312"].dists
    assert lib in again  # a round trip through the file keeps it


def test_a_changed_local_project_relocks(root: Path) -> None:
    other = root / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "2"\n')
    env = spec(deps=("./other",), skip_install=True)
    before = env_requirements(env, make_project(root).core).local_inputs
    (other / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "3"\n')
    assert env_requirements(env, make_project(root).core).local_inputs != before


def test_a_missing_local_path_is_one_error(root: Path) -> None:
    env = spec(deps=("../nowhere",), skip_install=True)
    with pytest.raises(
        LockError, match=r"env py312: deps line '../nowhere' names .*nowhere, which does not exist"
    ):
        env_requirements(env, make_project(root).core)


def test_lock_envs_reuses_current_entries_without_calling_the_resolver(root: Path) -> None:
    envs = (spec("py312", deps=("pytest",)), spec("py311", deps=("pytest",)))
    project = make_project(root, *envs)
    interpreters = {"py312": interpreter(12), "py311": interpreter(11)}
    engine = FakeEngine()
    first = lock_envs(project, envs, interpreters, engine=engine)
    assert len(engine.calls) == 4  # runtime + build env, per env
    lock_path = root / "nixtox.lock"
    text = lock_path.read_text()
    mtime = lock_path.stat().st_mtime_ns

    engine.calls.clear()
    second = lock_envs(project, envs, interpreters, engine=engine)
    assert engine.calls == []
    assert second == first
    assert lock_path.read_text() == text
    assert lock_path.stat().st_mtime_ns == mtime  # nothing changed: not rewritten

    changed = (spec("py312", deps=("pytest", "coverage")), envs[1])
    lock_envs(make_project(root, *changed), changed, interpreters, engine=engine)
    assert {call.interpreter.version[1] for call in engine.calls} == {12}  # only py312 relocked
    assert "coverage" in lock_path.read_text()


def test_locked_mode_refuses_a_stale_or_missing_entry(root: Path) -> None:
    env = spec(deps=("pytest",))
    project = make_project(root, env)
    with pytest.raises(
        LockError, match=r"nixtox.lock is stale for env py312: it has no entry \(run `nixtox lock`\)"
    ):
        lock_envs(project, [env], {"py312": interpreter()}, locked=True, engine=FakeEngine())
    lock_envs(project, [env], {"py312": interpreter()}, engine=FakeEngine())
    edited = spec(deps=("pytest", "coverage"))
    with pytest.raises(LockError, match="stale for env py312: requirements changed"):
        lock_envs(
            make_project(root, edited), [edited], {"py312": interpreter()}, locked=True, engine=FakeEngine()
        )
    other = dataclasses.replace(interpreter(), version=(3, 13, 1))
    with pytest.raises(
        LockError, match=r"stale for env py312: the interpreter changed \(locked for cpython-3\.12-"
    ):
        lock_envs(project, [env], {"py312": other}, locked=True, engine=FakeEngine())
    # a current entry passes in locked mode without the resolver
    engine = FakeEngine()
    lock_envs(project, [env], {"py312": interpreter()}, locked=True, engine=engine)
    assert engine.calls == []


def test_unresolvable_requirement_names_env_and_reason(root: Path) -> None:
    env = spec(deps=("unresolvable",), skip_install=True)
    with pytest.raises(LockError) as info:
        lock_env(make_project(root, env), env, interpreter(), engine=FakeEngine())
    assert info.value.message == (
        "env py312: cannot resolve its requirements for cpython 3.12.1: "
        "Because unresolvable was not found in the package registry"
    )


def test_hand_edited_hash_is_reported(root: Path) -> None:
    env = spec(deps=("pytest",), skip_install=True)
    project = make_project(root, env)
    lock_envs(project, [env], {"py312": interpreter()}, engine=FakeEngine())
    path = root / "nixtox.lock"
    path.write_text(path.read_text().replace(SHA, "b" * 64, 1))
    entry = LockFile.read(path).entries["py312"]
    with pytest.raises(LockError, match="the entry of env py312 was edited by hand"):
        verify_lock_entry("py312", entry)
    with pytest.raises(LockError, match="edited by hand"):
        lock_envs(project, [env], {"py312": interpreter()}, engine=FakeEngine())


def test_malformed_entry_names_file_and_env(root: Path) -> None:
    env = spec(deps=("pytest",), skip_install=True)
    project = make_project(root, env)
    lock_envs(project, [env], {"py312": interpreter()}, engine=FakeEngine())
    path = root / "nixtox.lock"
    path.write_text(path.read_text().replace("wheels = [", "wheelz = ["))
    with pytest.raises(LockError, match=r"nixtox.lock: the entry of env py312 is not a well-formed PEP 751"):
        LockFile.read(path)
    path.write_text("this is = = not toml")
    with pytest.raises(LockError, match=r"nixtox\.lock: not valid TOML"):
        LockFile.read(path)


def test_sdist_only_dependency_gets_its_build_requirements(root: Path) -> None:
    sdist_only = ResolvedPackage(
        "docopt", "0.6.2", (DistFile("https://f.example/docopt-0.6.2.tar.gz", SHA, 5),)
    )
    engine = FakeEngine({"docopt": sdist_only})
    asked: list[str] = []

    def sdist_requirements(dist: LockedDist, env_name: str) -> tuple[str, ...]:
        asked.append(f"{env_name}:{dist.filename}")
        return ("setuptools>=40.8.0", "wheel")

    locker = Locker(engine, "https://pypi.org/simple", sdist_requirements)
    env = spec(deps=("docopt",), skip_install=True)
    project = make_project(root, env)
    locked = lock_envs(project, [env], {"py312": interpreter()}, locker=locker)[0]
    (docopt,) = locked.dists
    assert docopt.kind == "sdist"
    assert [b.name for b in docopt.build_requires] == ["setuptools", "wheel"]
    assert asked == ["py312:docopt-0.6.2.tar.gz"]
    # nested build requirements survive the file round trip
    assert LockFile.read(root / "nixtox.lock").entries["py312"].dists == locked.dists


def test_no_fitting_file_is_an_error(root: Path) -> None:
    windows_only = ResolvedPackage(
        "winonly", "1", (DistFile("https://f.example/winonly-1-cp312-cp312-win_amd64.whl", SHA),)
    )
    env = spec(deps=("winonly",), skip_install=True)
    with pytest.raises(LockError, match=r"env py312: no file of winonly 1 installs on cpython 3.12.1"):
        lock_env(make_project(root, env), env, interpreter(), engine=FakeEngine({"winonly": windows_only}))


def test_packages_whose_marker_is_false_are_dropped(root: Path) -> None:
    marked = dataclasses.replace(pure("tomli"), marker="python_full_version < '3.11'")
    env = spec(deps=("tomli", "attrs"), skip_install=True)
    locked = lock_env(make_project(root, env), env, interpreter(12), engine=FakeEngine({"tomli": marked}))
    assert [d.name for d in locked.dists] == ["attrs"]


def test_write_lock_prunes_envs_the_project_no_longer_has(root: Path) -> None:
    old, kept = spec("old", skip_install=True, deps=("a",)), spec("py312", skip_install=True, deps=("b",))
    interpreters = {"old": interpreter(), "py312": interpreter()}
    write_lock(make_project(root, old, kept), [old, kept], interpreters, engine=FakeEngine())
    assert set(LockFile.read(root / "nixtox.lock").entries) == {"old", "py312"}
    path = write_lock(make_project(root, kept), [kept], interpreters, engine=FakeEngine())
    assert set(LockFile.read(path).entries) == {"py312"}


def test_write_lock_upgrade_resolves_current_entries_again(root: Path) -> None:
    env = spec(skip_install=True, deps=("a",))
    project = make_project(root, env)
    write_lock(project, [env], {"py312": interpreter()}, engine=FakeEngine())
    engine = FakeEngine()
    write_lock(project, [env], {"py312": interpreter()}, engine=engine)
    assert engine.calls == []
    write_lock(project, [env], {"py312": interpreter()}, engine=engine, upgrade=True)
    assert len(engine.calls) == 1


def test_a_lock_holds_on_another_patch_release_unless_its_markers_split_them(root: Path) -> None:
    def on(patch: int) -> Interpreter:
        return dataclasses.replace(
            interpreter(),
            version=(3, 12, patch),
            marker_env=(("python_full_version", f"3.12.{patch}"), ("python_version", "3.12")),
        )

    plain = spec("plain", deps=("pytest",), skip_install=True)
    project = make_project(root, plain)
    (locked,) = lock_envs(project, [plain], {"plain": on(7)})
    assert locked.lock_interpreter.startswith("cpython-3.12-")
    engine = FakeEngine()
    lock_envs(project, [plain], {"plain": on(2)}, locked=True, engine=engine)
    assert engine.calls == []

    # pip reports each package's Requires-Dist: a patch-level marker there pins the full version
    split = {"foo": dataclasses.replace(pure("foo"), requires=("bar; python_full_version < '3.12.3'",))}
    marked = spec("marked", deps=("foo",), skip_install=True)
    project = make_project(root, marked)
    (locked,) = lock_envs(project, [marked], {"marked": on(7)}, engine=FakeEngine(split))
    assert locked.lock_interpreter.startswith("cpython-3.12.7-")
    with pytest.raises(
        LockError, match=r"stale for env marked: the interpreter changed \(locked for cpython-3\.12\.7-"
    ):
        lock_envs(project, [marked], {"marked": on(2)}, locked=True)
    lock_envs(project, [marked], {"marked": on(7)}, locked=True)  # the same release still holds
