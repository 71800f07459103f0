"""The up-to-date check's source hash must follow exactly the files Nix's projectSource copies."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv
from nixtox.render import nix_library_path, nix_path
from nixtox.source import included_files, source_hash

TREE = [
    "pyproject.toml", "src/pkg/__init__.py", "src/pkg/build/__init__.py", "src/pkg/dist/x.txt",
    "src/pkg/__pycache__/a.pyc", "src/pkg/mod.pyc", "build/lib/x.py", "dist/p.whl", "venv/bin/x",
    ".git/HEAD", ".nixtox/state.json", ".tox/x", ".nox/x", "pkg.egg-info/PKG-INFO", "tests/.hypothesis/x",
    "tests/test_x.py", "docs/result.md", ".github/workflows/ci.yml",
]  # fmt: skip


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for rel in TREE:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / "result").symlink_to("/nix/store")
    (root / "result-docs").symlink_to("/nix/store")
    return root


def test_included_files_follow_the_documented_filter(tree: Path) -> None:
    assert included_files(tree) == sorted(
        [".github/workflows/ci.yml", "docs/result.md", "pyproject.toml", "src/pkg/__init__.py",
         "src/pkg/build/__init__.py", "src/pkg/dist/x.txt", "tests/test_x.py"]
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="needs nix-instantiate")
def test_included_files_equal_what_nix_copies(tree: Path) -> None:
    expr = f'toString ((import {nix_path(nix_library_path())} {{ }}).projectSource {{ path = {nix_path(tree)}; }})'
    out = subprocess.run(
        ["nix-instantiate", "--eval", "--read-write-mode", "--expr", expr, *nix_options_argv(NixOptions())],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    store = Path(out.stdout.strip().strip('"'))
    copied = sorted(
        os.path.relpath(os.path.join(d, f), store) for d, _, files in os.walk(store) for f in files
    )
    assert copied == included_files(tree)


def test_hash_changes_with_content_and_mode_not_with_excluded_files(tree: Path) -> None:
    before = source_hash(tree)
    (tree / ".tox" / "x").write_text("changed")
    (tree / "src" / "pkg" / "__pycache__" / "a.pyc").write_text("changed")
    assert source_hash(tree) == before
    (tree / "tests" / "test_x.py").chmod(0o755)
    assert source_hash(tree) != before
    changed_mode = source_hash(tree)
    (tree / "src" / "pkg" / "build" / "__init__.py").write_text("edit")
    assert source_hash(tree) != changed_mode
