"""Fault injection at unit level: damaged files and random configs never give a traceback, and a damaged
lock is never accepted with fewer packages than it was written with."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nixtox.errors import LockError, NixtoxError
from nixtox.lock import LockEntry, LockFile, LockPolicy, verify_lock_entry
from nixtox.model import LockedDist
from nixtox.select import Selection
from nixtox.session import RunOptions, prepare_envs
from nixtox.state import EnvState, State
from tests.unit.fake_nix import FakeNix
from tests.unit.test_config_fuzz import ini_text
from tests.unit.test_lock import FakeEngine


def _dist(name: str, build: tuple[LockedDist, ...] = ()) -> LockedDist:
    sha = (name * 64)[:64].replace(name[0], "a") if name else "a" * 64
    sha = "".join(c if c in "0123456789abcdef" else "b" for c in sha)
    return LockedDist(
        name, "1.0", f"{name}-1.0-py3-none-any.whl", f"https://x/{name}.whl", sha, 10, "wheel", build
    )


def _lock_text() -> tuple[str, dict[str, LockEntry]]:
    lock = LockFile()
    lock.put(
        "py312", LockEntry("k1", "cpython-3.12", "https://pypi.org/simple", (_dist("attrs"), _dist("six")))
    )
    lock.put(
        "lint", LockEntry("k2", "cpython-3.13", "https://pypi.org/simple", (_dist("ruff"),), (_dist("flit"),))
    )
    return lock.dumps(), dict(lock.entries)


TEXT, ORIGINAL = _lock_text()
LINES = TEXT.splitlines(keepends=True)

_damage = st.one_of(
    st.integers(0, len(TEXT)).map(lambda n: ("truncate", n)),
    st.integers(0, len(LINES) - 1).map(lambda n: ("head", n)),
    st.lists(st.integers(0, len(LINES) - 1), min_size=1, max_size=4).map(lambda ns: ("drop", tuple(ns))),
    st.tuples(st.integers(0, len(TEXT) - 1), st.integers(0, 255)).map(lambda t: ("byte", t)),
)


def _damaged(kind: str, arg: object) -> bytes:
    data = TEXT.encode()
    if kind == "truncate":
        return data[: int(arg)]  # type: ignore[call-overload]
    if kind == "head":
        return "".join(LINES[: int(arg)]).encode()  # type: ignore[call-overload]
    if kind == "drop":
        return "".join(line for i, line in enumerate(LINES) if i not in arg).encode()  # type: ignore[operator]
    at, value = arg  # type: ignore[misc]
    return data[:at] + bytes([value]) + data[at + 1 :]


@settings(max_examples=400, deadline=None)
@given(_damage)
def test_a_damaged_lock_is_refused_or_read_intact_never_read_short(damage: tuple[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nixtox.lock"
        path.write_bytes(_damaged(*damage))
        try:
            lock = LockFile.read(path)
        except LockError:
            return
        for key, entry in lock.entries.items():
            try:
                verify_lock_entry(key, entry)
            except LockError:
                continue
            # accepted: then it is what was written, as far as what gets installed goes
            original = ORIGINAL.get(key)
            if original is not None and entry.lock_key == original.lock_key:
                assert {(d.name, d.sha256) for d in entry.dists} == {
                    (d.name, d.sha256) for d in original.dists
                }


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300) | st.sampled_from([b"[]", b"{}", b'{"version": 1, "envs": {"a": 1}}', b"null"])
)
def test_a_damaged_state_never_raises(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "state.json").write_bytes(data)
        state = State.read(Path(tmp))
        state.envs["x"] = EnvState("f", "/nix/store/x")
        state.write()
        assert json.loads((Path(tmp) / "state.json").read_text())["envs"]["x"]["store_path"] == "/nix/store/x"


@pytest.fixture(scope="module")
def fake_resolver() -> pytest.MonkeyPatch:
    patch = pytest.MonkeyPatch()
    patch.setattr("nixtox.lock._core.default_engine", FakeEngine)
    yield patch  # type: ignore[misc]
    patch.undo()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ini_text())
def test_random_configs_through_every_stage_give_no_traceback(
    fake_resolver: pytest.MonkeyPatch, text: str
) -> None:
    """load -> expand -> select -> lock (fake resolver) -> render -> realise (fake Nix)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tox.ini").write_text(text + "\n[testenv:zz]\nskip_install = true\n", encoding="utf-8")
        (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
        try:
            options = RunOptions(path=root, selection=_ALL, lock=LockPolicy(store_interpreters=False))
            prepared = prepare_envs(options, nix=FakeNix(root / "store"))
        except NixtoxError:
            return
        REACHED["realised"] += len(prepared.live)
        REACHED["env errors"] += sum(r.status == "error" for r in prepared.ended.values())


_ALL = Selection(env="ALL", skip_env="")
#: how far the random configs got (printed at the end of the module, so a run shows it exercised Nix)
REACHED = {"realised": 0, "env errors": 0}


def test_random_configs_reached_the_realise_stage() -> None:
    print(f"random configs: {REACHED['realised']} envs realised, {REACHED['env errors']} env errors")
    assert REACHED["realised"] > 0
