"""tox's resolver keys in the lock stage: pip_pre, tox-uv's uv_resolution, constrain_package_deps."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixtox.errors import ConfigError, LockError
from nixtox.lock import env_requirements
from nixtox.lock._engines import PipEngine, ResolutionError, ResolveRequest, UvEngine
from nixtox.lock._index import IndexConfig
from nixtox.model import ResolverOptions

from .test_lock import FakeEngine, interpreter, lock_env, make_project, root, spec

__all__ = ["root"]  # the fixture, used by name


def test_pip_pre_and_uv_resolution_reach_the_resolver_and_change_the_lock_key(root: Path) -> None:
    plain = spec(deps=("pytest",), skip_install=True)
    pre = spec(deps=("pytest",), skip_install=True, pip_pre=True)
    lowest = spec(deps=("pytest",), skip_install=True, uv_resolution="lowest-direct")
    keys = set()
    for env in (plain, pre, lowest):
        engine = FakeEngine()
        locked = lock_env(make_project(root, env), env, interpreter(), engine=engine, upgrade=True)
        keys.add(locked.lock_key)
        assert engine.calls[0].options == env_requirements(env, make_project(root, env).core).options
    assert len(keys) == 3
    assert engine.calls[0].options == ResolverOptions(resolution="lowest-direct")


def test_unset_resolver_options_add_nothing_to_the_lock_key() -> None:
    """An env without pip_pre/uv_resolution keeps the key it had before these keys were acted on."""
    assert ResolverOptions().lock_payload() == {}
    assert ResolverOptions(resolution="lowest").lock_payload() == {"resolution": "lowest"}


def test_a_pip_pre_env_relocks_when_the_key_is_turned_on(root: Path) -> None:
    env = spec(deps=("pytest",), skip_install=True)
    lock_env(make_project(root, env), env, interpreter(), engine=FakeEngine())
    engine = FakeEngine()
    turned = spec(deps=("pytest",), skip_install=True, pip_pre=True)
    lock_env(make_project(root, turned), turned, interpreter(), engine=engine)
    assert [c.options.pre_releases for c in engine.calls] == [True]


def test_an_unknown_uv_resolution_is_a_config_error(root: Path) -> None:
    env = spec(deps=("pytest",), skip_install=True, uv_resolution="newest")
    with pytest.raises(
        ConfigError, match="uv_resolution = 'newest' is not one of highest, lowest, lowest-direct"
    ):
        env_requirements(env, make_project(root, env).core)


def _argv(
    engine: object, options: ResolverOptions, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[str]:
    """The command line an engine runs for ``options`` (the resolver is not run)."""
    seen: list[list[str]] = []

    def fake_run(argv, **_kwargs):  # type: ignore[no-untyped-def]
        seen.append(list(argv))
        raise RuntimeError("stop")

    monkeypatch.setattr("nixtox.lock._engines.run_process", fake_run)
    request = ResolveRequest(
        ("pytest",), (), interpreter(), IndexConfig("https://pypi.org/simple"), tmp_path, options
    )
    if isinstance(engine, PipEngine):
        monkeypatch.setattr(PipEngine, "_argv", lambda _self, _interp: ["pip"])
    with pytest.raises(RuntimeError):
        engine.resolve(request)  # type: ignore[attr-defined]
    return seen[-1]


def test_uv_gets_tox_uvs_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    argv = _argv(UvEngine(uv="uv"), ResolverOptions(True, "lowest"), monkeypatch, tmp_path)
    assert argv[-4:] == ["--prerelease", "allow", "--resolution", "lowest"]
    assert "--prerelease" not in _argv(UvEngine(uv="uv"), ResolverOptions(), monkeypatch, tmp_path)


def test_pip_gets_pre_and_refuses_a_lowest_resolution(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert _argv(PipEngine(), ResolverOptions(pre_releases=True), monkeypatch, tmp_path)[-1] == "--pre"
    request = ResolveRequest(
        ("x",), (), interpreter(), IndexConfig("u"), tmp_path, ResolverOptions(resolution="lowest")
    )
    with pytest.raises(ResolutionError, match="needs the uv resolver"):
        PipEngine().resolve(request)


def test_a_conflict_with_the_package_explains_constrain_package_deps(root: Path) -> None:
    env = spec(deps=("unresolvable",))
    with pytest.raises(LockError, match="tox with constrain_package_deps = true"):
        lock_env(make_project(root, env), env, interpreter(), engine=FakeEngine())
    constrained = spec(deps=("unresolvable",), constrain_package_deps=True)
    with pytest.raises(LockError) as info:
        lock_env(make_project(root, constrained), constrained, interpreter(), engine=FakeEngine())
    assert "constrain_package_deps" not in info.value.message  # what tox would do too: no hint
