"""tox's run flags through the whole pipeline (fake resolver, fake Nix, real commands on the host):
``-n``, ``--skip-env-install``, ``--hashseed notset``, ``-p all``, ``--workdir``, and the lock of a
one-off run (``-x``) left unwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixtox.cli._run_flags import HASH_SEED_MAX, RunFlags, hash_seed
from nixtox.config import ExpandOptions, Override
from nixtox.lock import LOCK_FILE_NAME, LockPolicy
from nixtox.session import RunOptions, jobs_for, run_session
from nixtox.state import State
from tests.unit.fake_nix import FakeNix
from tests.unit.test_lock import FakeEngine

from .conftest import ProjectFactory

INI = """
[tox]
env_list = py312, other
[testenv]
skip_install = true
deps = attrs
allowlist_externals = sh
commands = sh -c 'echo "seed=${PYTHONHASHSEED-unset}" > {env_tmp_dir}/../ran'
[testenv:other]
"""


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    engine = FakeEngine()
    monkeypatch.setattr("nixtox.lock._core.default_engine", lambda: engine)
    return engine


@pytest.fixture
def root(nixtox_project: ProjectFactory) -> Path:
    return nixtox_project({"tox.ini": INI})


def _ran(root: Path, key: str = "py312", work: str = ".nixtox") -> str | None:
    marker = root / work / "envs" / key / "ran"
    return marker.read_text().strip() if marker.exists() else None


def test_notest_builds_the_envs_and_runs_nothing(root: Path, tmp_path: Path, engine: FakeEngine) -> None:
    nix = FakeNix(tmp_path / "store")
    result = run_session(RunOptions(path=root, no_test=True), nix=nix)
    assert [r.status for r in result.results] == ["ok", "ok"]
    assert all(r.commands == () for r in result.results)
    assert _ran(root) is None
    assert (root / ".nixtox" / "envs" / "py312" / "tmp").is_dir()  # the env dir is made, as tox's -n does
    assert any(call.startswith("realise") for call in nix.calls)


def test_hashseed_notset_leaves_the_variable_unset(
    root: Path, tmp_path: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    nix = FakeNix(tmp_path / "store")
    run_session(RunOptions(path=root, hash_seed="notset"), nix=nix)
    assert _ran(root) == "seed=unset"
    run_session(RunOptions(path=root, hash_seed="77"), nix=nix)
    assert _ran(root) == "seed=77"


def test_skip_env_install_runs_on_the_last_build_without_lock_or_nix(
    root: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    nix = FakeNix(tmp_path / "store")
    first = run_session(RunOptions(path=root), nix=nix)
    built = {r.spec.key: r.realised.store_path for r in first.results if r.realised}
    (root / "tox.ini").write_text(INI.replace("deps = attrs", "deps = attrs\n    six"))
    engine.calls.clear()
    nix.calls.clear()
    lock_before = (root / LOCK_FILE_NAME).read_text()
    again = run_session(RunOptions(path=root, skip_env_install=True), nix=nix)
    assert [r.status for r in again.results] == ["ok", "ok"]
    assert {r.spec.key: r.realised.store_path for r in again.results if r.realised} == built
    assert engine.calls == []  # no relock for the changed deps
    assert nix.calls == []  # no build
    assert (root / LOCK_FILE_NAME).read_text() == lock_before
    assert _ran(root) is not None


def test_skip_env_install_builds_an_env_never_built(root: Path, tmp_path: Path, engine: FakeEngine) -> None:
    nix = FakeNix(tmp_path / "store")
    result = run_session(RunOptions(path=root, skip_env_install=True), nix=nix)
    assert [r.status for r in result.results] == ["ok", "ok"]
    assert engine.calls  # locked, since nothing was built before
    assert any(call.startswith("realise") for call in nix.calls)


def test_workdir_holds_the_state_the_nix_files_and_the_env_dirs(
    root: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    nix = FakeNix(tmp_path / "store")
    work = root / "build" / "w"
    run_session(RunOptions(path=root, expand=ExpandOptions(work_dir=work)), nix=nix)
    assert set(State.read(work).envs) == {"py312", "other"}
    assert (work / "gcroots" / "py312").is_symlink()
    assert _ran(root, work="build/w") is not None
    assert (work / ".gitignore").read_text() == "*\n"  # never source, for git nor the source scan
    # only the flock of nixtox.lock's writers stays beside the lock file: it must be one file for every
    # run of the project, whatever work dir each one uses
    assert [p.name for p in (root / ".nixtox").iterdir()] == ["nixtox.lock.flock"]


def test_a_run_changed_by_overrides_locks_in_memory_only(
    root: Path, tmp_path: Path, engine: FakeEngine
) -> None:
    nix = FakeNix(tmp_path / "store")
    run_session(RunOptions(path=root), nix=nix)
    before = (root / LOCK_FILE_NAME).read_text()
    given = ExpandOptions(overrides=(Override.parse("testenv.deps+=six"),))
    result = run_session(
        RunOptions(path=root, expand=given, lock=LockPolicy(write=not given.changes_requirements)), nix=nix
    )
    assert [r.status for r in result.results] == ["ok", "ok"]
    assert any("six" in line for call in engine.calls for line in call.requirements)
    assert (root / LOCK_FILE_NAME).read_text() == before


def test_parallel_all_runs_every_env_at_once() -> None:
    assert jobs_for("all", 7) == 7
    assert jobs_for("all", 0) == 1
    assert jobs_for(0, 5) == 1
    assert jobs_for(3, 9) == 3


@pytest.mark.parametrize(
    ("given", "expected"),
    [("1", "1"), (" 42 ", "42"), (str(HASH_SEED_MAX), str(HASH_SEED_MAX)), ("notset", "notset")],
)
def test_hashseed_accepts_tox_values(given: str, expected: str) -> None:
    assert hash_seed(given) == expected


@pytest.mark.parametrize("given", ["abc", "0", "-3", str(HASH_SEED_MAX + 1), "1.5", ""])
def test_hashseed_refuses_what_python_or_tox_refuse(given: str) -> None:
    with pytest.raises(ValueError, match="is not an integer in"):
        hash_seed(given)


def test_hashseed_default_is_the_environment_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    assert RunFlags().seed() == "123"
    monkeypatch.setenv("PYTHONHASHSEED", "random")
    assert RunFlags().seed() is None
    assert RunFlags(hash_seed="9").seed() == "9"
