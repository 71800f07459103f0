"""Shared unit-test fixtures. ``nixtox_project`` writes a project into a temp dir and returns its root."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

__all__ = ["ProjectFactory", "write_project"]

ProjectFactory = Callable[[dict[str, str]], Path]


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``; return ``root``."""
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def nixtox_project(tmp_path: Path) -> ProjectFactory:
    """``nixtox_project({"tox.ini": "..."})`` -> the project root (a fresh dir per call)."""
    counter = iter(range(1_000_000))

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / f"project{next(counter)}"
        root.mkdir()
        return write_project(root, files)

    return make


@pytest.fixture(autouse=True)
def _clean_selection_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Env-var equivalents of -e / TOX_SKIP_ENV must not leak in from the caller's shell."""
    for name in ("TOX_ENV", "NIXTOX_ENV", "TOX_SKIP_ENV", "NIXTOX_SKIP_ENV"):
        monkeypatch.delenv(name, raising=False)
