"""Concurrent writers of nixtox.lock never lose each other's entries; a damaged lock is refused."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest

from nixtox.errors import LockError
from nixtox.lock import LockEntry, LockFile
from nixtox.model import LockedDist

SHA = "a" * 64


def entry(name: str) -> LockEntry:
    dist = LockedDist(name, "1.0", f"{name}-1.0-py3-none-any.whl", f"https://x/{name}.whl", SHA, 10, "wheel")
    return LockEntry(f"key-{name}", "cpython-3.12", "https://pypi.org/simple", (dist,))


def test_update_merges_with_what_another_writer_wrote_since_this_one_read(tmp_path: Path) -> None:
    path = tmp_path / "nixtox.lock"
    LockFile.update(path, put={"a": entry("a")})
    stale_view = LockFile.read(path)  # this run read the lock ...
    LockFile.update(path, put={"b": entry("b")})  # ... another run wrote b meanwhile ...
    stale_view.put("c", entry("c"))
    LockFile.update(path, put={"c": stale_view.entries["c"]})  # ... and this one adds c
    assert sorted(LockFile.read(path).entries) == ["a", "b", "c"]


def test_update_keeps_only_the_named_envs(tmp_path: Path) -> None:
    path = tmp_path / "nixtox.lock"
    LockFile.update(path, put={"a": entry("a"), "b": entry("b")})
    assert LockFile.update(path, put={"c": entry("c")}, keep={"a", "c"})
    assert sorted(LockFile.read(path).entries) == ["a", "c"]
    assert not LockFile.update(path, put={"c": entry("c")})  # nothing changed: not rewritten


def test_many_concurrent_writers_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "nixtox.lock"
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            for index in range(8):
                LockFile.update(path, put={f"{prefix}{index}": entry(f"{prefix}{index}")})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}-",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(LockFile.read(path).entries) == 6 * 8


def test_update_in_a_read_only_directory_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(LockError, match=r"cannot write .*nixtox\.lock: Permission denied"):
        LockFile.update(tmp_path / "nixtox.lock", put={"a": entry("a")})


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    path = tmp_path / "nixtox.lock"
    LockFile.update(path, put={"py312": entry("attrs")})
    return path


def test_a_lock_cut_short_is_refused_not_read_as_an_env_without_packages(lock_path: Path) -> None:
    """``head -n 8 nixtox.lock`` drops the packages and the content-hash line together."""
    lines = lock_path.read_text().splitlines(keepends=True)
    lock_path.write_text("".join(line for line in lines[:8] if not line.startswith("content-hash")))
    with pytest.raises(LockError, match=r"entry of env py312 .* has no content-hash"):
        LockFile.read(lock_path)


@pytest.mark.parametrize("value", ["5", "true", '"abc"', "[]"])
def test_a_content_hash_that_is_no_sha256_is_refused(lock_path: Path, value: str) -> None:
    text = lock_path.read_text()
    start = text.index("content-hash = ")
    end = text.index("\n", start)
    lock_path.write_text(text[:start] + f"content-hash = {value}" + text[end:])
    with pytest.raises(LockError, match="has no content-hash"):
        LockFile.read(lock_path)


@pytest.mark.parametrize(
    ("line", "said"), [("", "has no lock-version"), ('lock-version = "2.0"\n', "has lock-version '2.0'")]
)
def test_an_unknown_lock_version_is_refused(lock_path: Path, line: str, said: str) -> None:
    text = lock_path.read_text().replace('lock-version = "1.0"\n', line)
    lock_path.write_text(text)
    with pytest.raises(LockError, match=f"nixtox.lock {said}.*run `nixtox lock`"):
        LockFile.read(lock_path)


def test_a_lock_that_is_not_utf8_is_one_error(lock_path: Path) -> None:
    lock_path.write_bytes(lock_path.read_bytes() + b"\n# \xff\xfe\n")
    with pytest.raises(LockError, match=r"nixtox\.lock: not UTF-8 text"):
        LockFile.read(lock_path)


def test_a_requirement_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    from nixtox.lock import env_requirements
    from nixtox.model import CoreConfig, EnvConfig, EnvSpec

    (tmp_path / "reqs.txt").write_bytes(b"pytest\n# caf\xe9\n")
    env = EnvSpec(
        "py312", "skip", ("py312",), "py312", True, EnvConfig(deps=("-r reqs.txt",), skip_install=True)
    )
    core = CoreConfig(root=tmp_path, config_file=tmp_path / "tox.ini")
    with pytest.raises(LockError, match=r"env py312: requirement file .*reqs\.txt is not UTF-8 text"):
        env_requirements(env, core)


@pytest.mark.parametrize("damage", ["cut", "edited entry", "no version"])
def test_nixtox_lock_regenerates_a_damaged_lock_as_its_error_says(tmp_path: Path, damage: str) -> None:
    from tests.unit.test_lock import FakeEngine, interpreter, lock_envs, make_project, spec, write_lock

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    env = spec(deps=("pytest",), skip_install=True)
    project = make_project(tmp_path, env)
    write_lock(project, [env], {"py312": interpreter()}, engine=FakeEngine())
    path = tmp_path / "nixtox.lock"
    text = path.read_text()
    damaged = {
        "cut": text[: len(text) // 2],
        "edited entry": text.replace('version = "1.0"', 'version = "6.6"', 1),
        "no version": text.replace('lock-version = "1.0"\n', ""),
    }[damage]
    path.write_text(damaged)
    with pytest.raises(LockError, match="run `nixtox lock`"):
        lock_envs(project, [env], {"py312": interpreter()}, engine=FakeEngine(), locked=True)
    write_lock(project, [env], {"py312": interpreter()}, engine=FakeEngine())
    assert path.read_text() == text
