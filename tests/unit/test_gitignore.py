"""Without git, .gitignore files are honoured as git honours them: compared with git itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nixtox._gitignore import IgnoreRules, parse_gitignore
from nixtox.source import included_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="compares with git")

FILES = [
    "a/b/c.txt", "a/b.log", "a/x/y.log", "b/a/c.txt", "foo", "foo.txt", "dir/foo/bar", "dir/sub/deep/foo.py",
    "src/pkg/__init__.py", "src/pkg/data/x.json", "logs/today.log", "logs/keep.log", "docs/#notes", "sp ace",
    "deep/a/b/c/d.py",
]  # fmt: skip
PATTERNS = [
    "*.log", "a/", "/foo", "foo/", "**/b", "a/**", "a/**/c.txt", "!a/b/c.txt", "!*.txt", "?oo", "[ab]/",
    "dir/*/", "*", "!dir/", "\\#notes", "b/a", "x", "deep", "!logs/keep.log", "logs/", "logs/*", "!*/",
    "src/**/*.json", "*.py", "!src/", "sp\\ ace", "[!f]oo.txt", "/deep/**/d.py", "**", "d*/", "# comment",
]  # fmt: skip


def _tree(root: Path, files: list[str]) -> Path:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def _git_listing(root: Path) -> list[str]:
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    out = subprocess.run(
        ["git", "ls-files", "-z", "--others", "--exclude-standard"], cwd=root, capture_output=True, check=True
    )
    return sorted(f for f in out.stdout.decode().split("\0") if f)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tree(tmp_path_factory.mktemp("gitignore"), FILES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.lists(st.sampled_from(PATTERNS), max_size=5),
    nested=st.lists(st.sampled_from(PATTERNS), max_size=3),
)
def test_the_files_left_are_the_files_git_leaves(repo: Path, top: list[str], nested: list[str]) -> None:
    (repo / ".gitignore").write_text("\n".join(top) + "\n")
    (repo / "a" / ".gitignore").write_text("\n".join(nested) + "\n")
    ours = included_files(repo, use_git=False)
    assert ours == [f for f in _git_listing(repo) if not f.startswith(".git/")]


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("*.log", "a/b/x.log", False, True),
        ("/foo", "a/foo", False, None),
        ("foo/", "foo", False, None),
        ("foo/", "foo", True, True),
        ("a/**/c", "a/c", False, True),
        ("a/**/c", "a/x/y/c", False, True),
        ("**/c", "x/c", False, True),
        ("a/**", "a", True, None),
        ("[a-c]x", "bx", False, True),
        ("[!a-c]x", "bx", False, None),
        ("\\!x", "!x", False, True),
        ("x\\ ", "x ", False, True),
        ("x   ", "x", False, True),
    ],
)
def test_single_patterns(pattern: str, path: str, is_dir: bool, ignored: bool | None, tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(pattern + "\n")
    assert IgnoreRules(tmp_path).decide(path, is_dir=is_dir) is ignored


def test_a_negated_line_re_includes(tmp_path: Path) -> None:
    rules = parse_gitignore("*.log\n!keep.log\n")
    assert [r.negate for r in rules] == [False, True]
    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\n")
    assert IgnoreRules(tmp_path).decide("keep.log", is_dir=False) is False
