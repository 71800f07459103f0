"""What the reports say about the project itself: its name and the git commit it was tested at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nixtox._process import run_process
from nixtox.errors import NixtoxError
from nixtox.pyproject import read_pyproject

__all__ = ["git_commit", "project_info"]


def git_commit(root: Path) -> str | None:
    """``git rev-parse HEAD`` in ``root`` (None outside a git work tree or without git), with
    ``+dirty`` when tracked files have uncommitted changes: the page then does not claim a clean commit."""
    try:
        head = run_process(["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"])
        if not head.ok:
            return None
        status = run_process(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    except (NixtoxError, OSError):
        return None
    commit = head.stdout.strip()
    return f"{commit}+dirty" if status.ok and status.stdout.strip() else commit


def project_info(root: Path) -> dict[str, Any]:
    """``{"name", "version", "commit"}``; the version is filled in from the envs' package builds."""
    try:
        name = read_pyproject(root).name
    except NixtoxError:
        name = None
    return {"name": name or root.name, "version": None, "commit": git_commit(root)}
