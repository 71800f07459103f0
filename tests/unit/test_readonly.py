"""Test commands cannot write into the Nix store: a private mount namespace with the store read-only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from nixtox.run._tox import check_module

#: the one definition, in the Nix library (nix/checks/readonly.py), as host runs load it
_readonly = check_module("readonly")
start_protected = _readonly.start_protected
store_needs_protection = _readonly.store_needs_protection

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the store is writable only to root here")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in store (NIX_STORE_DIR) holding one "built" file, and fresh once-per-process state."""
    store = tmp_path / "store"
    (store / "abc-pkg").mkdir(parents=True)
    (store / "abc-pkg" / "__init__.py").write_text("built\n")
    monkeypatch.setenv("NIX_STORE_DIR", str(store))
    monkeypatch.setattr(_readonly, "_STATE", {"namespace_failed": False, "warned": False})
    return store


def _namespaces_work() -> bool:
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def _run(argv: list[str], said: list[str]) -> tuple[int, str]:
    with start_protected(argv, warn=said.append, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        out = proc.communicate()[0].decode()
    return proc.returncode, out


@needs_root
def test_a_writable_store_needs_protection_and_a_missing_one_does_not(store: Path, tmp_path: Path) -> None:
    assert store_needs_protection(str(store))
    assert not store_needs_protection(str(tmp_path / "no-store"))


@needs_root
@pytest.mark.skipif(not _namespaces_work(), reason="no mount namespaces here")
def test_a_command_cannot_modify_or_add_store_files(store: Path) -> None:
    said: list[str] = []
    target = store / "abc-pkg" / "__init__.py"
    code, out = _run(["sh", "-c", f"echo X=1 >> {target}; touch {store}/new; echo done"], said)
    assert code == 0
    assert "Read-only file system" in out
    assert out.rstrip().endswith("done")
    assert target.read_text() == "built\n"
    assert not (store / "new").exists()
    assert said == []  # protected: no warning
    # the namespace was the child's alone: nixtox (and every other process) can still write there
    (store / "new").write_text("parent")
    assert str(store) not in Path("/proc/self/mountinfo").read_text()


@needs_root
def test_a_refused_namespace_warns_once_and_commands_still_run(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_store: str) -> object:
        def preexec() -> None:
            raise OSError(1, "unshare(CLONE_NEWNS)")

        return preexec

    monkeypatch.setattr(_readonly, "_readonly_preexec", refuse)
    said: list[str] = []
    assert _run(["sh", "-c", "echo first"], said) == (0, "first\n")
    assert _run(["sh", "-c", "echo second"], said) == (0, "second\n")
    assert len(said) == 1
    assert "cannot make the Nix store read-only for test commands" in said[0]


def test_an_unstartable_program_is_the_callers_error_not_a_fallback(store: Path) -> None:
    said: list[str] = []
    with pytest.raises(FileNotFoundError):
        start_protected([str(store / "no-such-program")], warn=said.append)
    assert said == []


@needs_root
def test_unprotected_commands_write_no_bytecode_next_to_store_files(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands planned for a read-only store (no PYTHONPYCACHEPREFIX) that end up unprotected write no
    bytecode at all; those given a prefix keep it; and after the first refusal nixtox plans for it."""

    def refuse(_store: str) -> object:
        def preexec() -> None:
            raise OSError(1, "unshare(CLONE_NEWNS)")

        return preexec

    monkeypatch.setattr(_readonly, "_readonly_preexec", refuse)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    assert _readonly.read_only_expected()
    show = ["sh", "-c", 'echo "${PYTHONDONTWRITEBYTECODE:-unset}"']
    said: list[str] = []
    assert _run(show, said) == (0, "1\n")
    assert not _readonly.read_only_expected()  # the next env gets a prefix
    with_prefix = dict(os.environ, PYTHONPYCACHEPREFIX=str(store.parent / "pycache"))
    with start_protected(show, warn=said.append, env=with_prefix, stdout=subprocess.PIPE) as proc:
        assert proc.communicate()[0] == b"unset\n"
    # a Python command planned without a prefix compiles nothing into the writable store
    (store / "abc-pkg" / "mod.py").write_text("x = 1\n")
    argv = [
        "python3",
        "-c",
        "import sys; sys.path.insert(0, sys.argv[1]); import mod",
        str(store / "abc-pkg"),
    ]
    assert _run(argv, said)[0] == 0
    assert not (store / "abc-pkg" / "__pycache__").exists()


@needs_root
def test_after_a_refusal_only_a_store_that_needs_no_protection_is_expected_read_only(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_readonly._STATE, "namespace_failed", True)
    assert not _readonly.read_only_expected()  # writable to us, and the namespace failed
    monkeypatch.setenv("NIX_STORE_DIR", str(tmp_path / "no-store"))
    assert _readonly.read_only_expected()  # nothing a command could write into
