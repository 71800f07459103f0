"""The up-to-date check's source hash must follow exactly the files Nix's projectSource copies."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv
from nixtox.render import nix_library_path, nix_path
from nixtox.source import included_files, scan_source, source_hash

TREE = [
    "pyproject.toml", "src/pkg/__init__.py", "src/pkg/build/__init__.py", "src/pkg/dist/x.txt",
    "src/pkg/__pycache__/a.pyc", "src/pkg/mod.pyc", "build/lib/x.py", "dist/p.whl", "venv/bin/x",
    ".git/HEAD", ".nixtox/state.json", ".tox/x", ".nox/x", "pkg.egg-info/PKG-INFO", "tests/.hypothesis/x",
    "tests/test_x.py", "docs/result.md", ".github/workflows/ci.yml", "tox.ini", "nixtox.lock",
    "docs/tox.ini", ".env", ".env.local", "conf/server.pem", "conf/tls.key", ".ssh/id_rsa", "id_ed25519.pub",
    ".pypirc", "src/pkg/.netrc", "docs/keys.md",
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
        [".github/workflows/ci.yml", "docs/keys.md", "docs/result.md", "docs/tox.ini", "pyproject.toml",
         "src/pkg/__init__.py", "src/pkg/build/__init__.py", "src/pkg/dist/x.txt", "tests/test_x.py"]
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="needs nix-instantiate")
def test_included_files_equal_what_nix_copies(tree: Path) -> None:
    expr = f"toString ((import {nix_path(nix_library_path())} {{ }}).projectSource {{ path = {nix_path(tree)}; }})"
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


@pytest.fixture
def git_tree(tree: Path) -> Path:
    shutil.rmtree(tree / ".git")  # the fake .git of the plain tree
    (tree / ".gitignore").write_text(".coverage\nreports/\n")
    (tree / ".coverage").write_text("data")
    (tree / "reports").mkdir()
    (tree / "reports" / "junit.xml").write_text("<x/>")
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    subprocess.run(["git", "add", "pyproject.toml", "src/pkg/__init__.py"], cwd=tree, check=True)
    return tree


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_in_a_git_checkout_ignored_files_never_count(git_tree: Path) -> None:
    tree = scan_source(git_tree)
    assert tree.files is not None
    assert ".coverage" not in tree.files
    assert "reports/junit.xml" not in tree.files
    assert "tests/test_x.py" in tree.files  # untracked but not ignored still counts
    assert "src" in tree.dirs
    assert "src/pkg" in tree.dirs
    before = tree.source_hash
    (git_tree / ".coverage").write_text("new data")
    (git_tree / "reports" / "junit.xml").write_text("<y/>")
    assert scan_source(git_tree).source_hash == before
    (git_tree / "src" / "pkg" / "__init__.py").write_text("changed")
    assert scan_source(git_tree).source_hash != before


@pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="needs nix-instantiate")
def test_git_file_list_is_what_nix_copies(git_tree: Path) -> None:
    tree = scan_source(git_tree)
    listed = "{ files = [ " + " ".join(f'"{f}"' for f in tree.files or ()) + " ]; dirs = [ "
    listed += " ".join(f'"{d}"' for d in tree.dirs) + " ]; }"
    lib = f"(import {nix_path(nix_library_path())} {{ }})"
    expr = f"toString ({lib}.projectSource ({{ path = {nix_path(git_tree)}; }} // {listed}))"
    out = subprocess.run(
        ["nix-instantiate", "--eval", "--read-write-mode", "--expr", expr, *nix_options_argv(NixOptions())],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    store = Path(out.stdout.strip().strip('"'))
    copied = sorted(
        os.path.relpath(os.path.join(d, f), store) for d, _, files in os.walk(store) for f in files
    )
    assert copied == list(tree.files or ())


def _nix_copy(tree: Path, files: tuple[str, ...] | None = None, dirs: tuple[str, ...] = ()) -> list[str]:
    listed = ""
    if files is not None:
        listed = " // { files = [ " + " ".join(f'"{f}"' for f in files) + " ]; dirs = [ "
        listed += " ".join(f'"{d}"' for d in dirs) + " ]; }"
    lib = f"(import {nix_path(nix_library_path())} {{ }})"
    expr = f"toString ({lib}.projectSource ({{ path = {nix_path(tree)}; }}{listed}))"
    out = subprocess.run(
        ["nix-instantiate", "--eval", "--read-write-mode", "--expr", expr, *nix_options_argv(NixOptions())],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    store = Path(out.stdout.strip().strip('"'))
    return sorted(os.path.relpath(os.path.join(d, f), store) for d, _, names in os.walk(store) for f in names)


@pytest.fixture
def secret_tree(tree: Path) -> Path:
    """No git; a .gitignore that ignores reports and re-includes the one key the tests need."""
    shutil.rmtree(tree / ".git")
    (tree / ".gitignore").write_text("reports/\n*.log\n!keep.log\n!conf/tls.key\n")
    for rel in ("reports/junit.xml", "x.log", "keep.log", "src/pkg/sub/.gitignore", "src/pkg/sub/gen.py"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(rel)
    (tree / "src/pkg/sub/.gitignore").write_text("gen.py\n")
    return tree


def test_without_git_gitignore_and_secret_rules_decide(secret_tree: Path) -> None:
    warnings: list[str] = []
    scanned = scan_source(secret_tree, warn=warnings.append)
    files = set(scanned.files or ())
    assert {"keep.log", "conf/tls.key", ".gitignore", "src/pkg/sub/.gitignore"} <= files
    assert not files & {"reports/junit.xml", "x.log", "src/pkg/sub/gen.py"}  # ignored
    assert not files & {".env", ".env.local", "conf/server.pem", ".ssh/id_rsa", ".pypirc", "src/pkg/.netrc"}
    assert scanned.secrets == ("conf/tls.key",)
    assert len(warnings) == 1
    assert "conf/tls.key looks like a secret" in warnings[0]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_in_git_a_tracked_secret_is_kept_with_a_warning_an_untracked_one_is_not(git_tree: Path) -> None:
    subprocess.run(["git", "add", "-f", ".env", "conf/server.pem"], cwd=git_tree, check=True)
    warnings: list[str] = []
    files = set(scan_source(git_tree, warn=warnings.append).files or ())
    assert {".env", "conf/server.pem"} <= files
    assert not files & {".env.local", "conf/tls.key", ".ssh/id_rsa", ".pypirc", "src/pkg/.netrc"}
    assert sorted(w.split()[1] for w in warnings) == [".env", "conf/server.pem"]
    assert all("git tracks it" in w for w in warnings)


@pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="needs nix-instantiate")
def test_without_git_the_listed_files_are_what_nix_copies(secret_tree: Path) -> None:
    scanned = scan_source(secret_tree)
    assert _nix_copy(secret_tree, scanned.files, scanned.dirs) == list(scanned.files or ())
