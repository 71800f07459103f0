"""Locking against the real PyPI with uv and real host interpreters."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nixtox.errors import LockError
from nixtox.interpreters import resolve_interpreter
from nixtox.lock import LockFile, PipEngine, ResolverEngine, lock_stage, verify_lock_entry
from nixtox.model import CoreConfig, EnvConfig, Envs, EnvSpec, Interpreter, LockedEnv, Project
from nixtox.plugins import find_format

pytestmark = pytest.mark.nix


def spec(name: str, *deps: str, skip_install: bool = True) -> EnvSpec:
    fmt = find_format("skip" if skip_install else "wheel")
    assert fmt is not None
    return EnvSpec(name, fmt, (name,), name, True, EnvConfig(deps=deps, skip_install=skip_install))


def lock_envs(
    project: Project,
    specs: tuple[EnvSpec, ...],
    interpreters: dict[str, Interpreter],
    *,
    engine: ResolverEngine | None = None,
) -> list[LockedEnv]:
    by_request = {env.python: interpreters[env.key] for env in specs}
    envs = lock_stage(Envs(project, specs, specs), engine=engine, interpreters=by_request)
    if envs.ended:
        raise LockError(next(iter(envs.ended.values())).reason)
    return list(envs.live)


def lock_env(
    project: Project, env: EnvSpec, interp: Interpreter, *, engine: ResolverEngine | None = None
) -> LockedEnv:
    return lock_envs(project, (env,), {env.key: interp}, engine=engine)[0]


def project(root: Path, *envs: EnvSpec) -> Project:
    return Project(CoreConfig(root=root, config_file=root / "tox.ini"), envs)


def interpreter_for(request: str, root: Path):  # type: ignore[no-untyped-def]
    core = CoreConfig(root=root, config_file=root / "tox.ini")
    return resolve_interpreter(request, core, env_name=request)


def test_pytest_and_attrs_for_38_and_312(tmp_path: Path) -> None:
    envs = (spec("py38", "pytest", "attrs"), spec("py312", "pytest", "attrs"))
    interpreters = {env.key: interpreter_for(env.name, tmp_path) for env in envs}
    py38, py312 = lock_envs(project(tmp_path, *envs), envs, interpreters)
    old = {d.name: d for d in py38.dists}
    new = {d.name: d for d in py312.dists}
    # the newest pytest needs a newer Python than 3.8; 3.8 needs the backports
    assert int(old["pytest"].version.split(".")[0]) <= 8 < int(new["pytest"].version.split(".")[0])
    assert "exceptiongroup" in old
    assert "tomli" in old
    assert "exceptiongroup" not in new
    for dist in (*py38.dists, *py312.dists):
        assert dist.kind == "wheel"
        assert len(dist.sha256) == 64
        assert dist.url.startswith("https://")
        assert dist.filename.endswith(".whl")
        assert dist.size

    lock = LockFile.read(tmp_path / "nixtox.lock")
    assert set(lock.entries) == {"py38", "py312"}
    verify_lock_entry("py312", lock.entries["py312"], download_files=True)


def test_sdist_only_dependency_is_built_from_source(tmp_path: Path) -> None:
    # docopt 0.6.2 is published as an sdist only (setup.py, no pyproject.toml)
    env = spec("py312", "docopt==0.6.2")
    locked = lock_env(project(tmp_path, env), env, interpreter_for("py312", tmp_path))
    (docopt,) = locked.dists
    assert docopt.kind == "sdist"
    assert docopt.filename == "docopt-0.6.2.tar.gz"
    assert {"setuptools", "wheel"} <= {d.name for d in docopt.build_requires}


def test_project_dependencies_and_build_system(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["flit_core>=3.2,<4"]
            build-backend = "flit_core.buildapi"
            [project]
            name = "demo"
            version = "0.1"
            dependencies = ["iniconfig"]
            """
        )
    )
    env = spec("py312", "pytest", skip_install=False)
    locked = lock_env(project(tmp_path, env), env, interpreter_for("py312", tmp_path))
    assert "iniconfig" in {d.name for d in locked.dists}
    assert [d.name for d in locked.build_dists] == ["flit-core"]


def test_dynamic_project_metadata_comes_from_the_backend(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='dynproj', version='0.1', install_requires=['six'])\n"
    )
    env = spec("py312", skip_install=False)
    locked = lock_env(project(tmp_path, env), env, interpreter_for("py312", tmp_path))
    assert [d.name for d in locked.dists] == ["six"]  # the project itself is not locked


def test_unresolvable_requirement(tmp_path: Path) -> None:
    env = spec("py312", "pytest>=999")
    with pytest.raises(LockError) as info:
        lock_env(project(tmp_path, env), env, interpreter_for("py312", tmp_path))
    message = info.value.message
    assert message.startswith("env py312: cannot resolve its requirements for cpython 3.12")
    assert "pytest>=999" in message
    assert "\n" not in message


def test_pip_engine_agrees_with_uv(tmp_path: Path) -> None:
    env = spec("py312", "attrs==25.3.0", "iniconfig==2.1.0")
    interp = interpreter_for("py312", tmp_path)
    by_uv = lock_env(project(tmp_path, env), env, interp)
    by_pip = lock_env(project(tmp_path, env), env, interp, engine=PipEngine())
    assert [(d.name, d.filename, d.sha256) for d in by_pip.dists] == [
        (d.name, d.filename, d.sha256) for d in by_uv.dists
    ]
