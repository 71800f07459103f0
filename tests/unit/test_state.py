"""``.nixtox/state.json``: keyed by store, robust to damage, one error line when it cannot be written."""

from __future__ import annotations

from pathlib import Path

import pytest

from nixtox.cache import resolve_settings
from nixtox.cache._settings import CacheOverrides
from nixtox.errors import NixtoxError
from nixtox.model import CacheConfig
from nixtox.state import EnvState, State, gcroot_dir, locked_work_dir, selected_store, store_has


def test_each_store_has_its_own_entries_and_writing_one_keeps_the_others(tmp_path: Path) -> None:
    default = State.read(tmp_path)
    default.envs["py312"] = EnvState("fp", "/nix/store/aaa-env", "/nix/store/aaa.drv")
    default.write()
    other = State.read(tmp_path, "/tmp/other")
    assert other.envs == {}  # built in the default store says nothing about another store
    other.envs["py312"] = EnvState("fp", "/nix/store/aaa-env")
    other.write()
    assert State.read(tmp_path).envs["py312"].drv_path == "/nix/store/aaa.drv"
    assert State.read(tmp_path, "/tmp/other").envs["py312"].store_path == "/nix/store/aaa-env"
    assert State.read(tmp_path, "/tmp/third").envs == {}
    assert gcroot_dir(tmp_path) != gcroot_dir(tmp_path, "/tmp/other")


@pytest.mark.parametrize(
    "text", [b"[]", b"{not json", b"\xff\xfe\x00", b'{"version": 1, "envs": []}', b"null"]
)
def test_a_damaged_state_is_an_empty_state_and_is_overwritten(tmp_path: Path, text: bytes) -> None:
    (tmp_path / "state.json").write_bytes(text)
    state = State.read(tmp_path)
    assert state.envs == {}
    state.envs["a"] = EnvState("fp", "/nix/store/x")
    state.write()
    assert State.read(tmp_path).envs["a"].store_path == "/nix/store/x"


def test_store_has_looks_inside_a_store_directory(tmp_path: Path) -> None:
    (tmp_path / "nix" / "store" / "abc-env").mkdir(parents=True)
    assert store_has(str(tmp_path), "/nix/store/abc-env")
    assert not store_has(str(tmp_path), "/nix/store/def-env")
    assert store_has("ssh-ng://host", "/nix/store/abc-env") is None


def test_selected_store_follows_the_cache_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for env_value, given in [("", None), ("/s/env", None), ("/s/env", "/s/cli"), ("", "/s/cli")]:
        monkeypatch.setenv("NIXTOX_NIX_STORE", env_value)
        settings = resolve_settings(CacheConfig(), overrides=CacheOverrides(nix_store=given))
        assert selected_store(given) == settings.nix_store


def test_an_unwritable_work_dir_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / ".nixtox"
    work.mkdir()

    def refuse(*_args: object, **_kwargs: object) -> object:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("builtins.open", refuse)
    with (
        pytest.raises(NixtoxError, match=r"cannot write .*\.nixtox: Read-only file system"),
        locked_work_dir(work),
    ):
        pass
