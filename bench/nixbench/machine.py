"""What the numbers were measured on: cores, memory, load, interpreter and tool versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["find_pythons", "machine_info", "version_of"]


def version_of(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else f"exit {done.returncode}"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def machine_info(repo: Path, pythons: dict[str, str]) -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
        "nix": version_of(["nix-store", "--version"]),
        "pythons": {v: version_of([exe, "--version"]) for v, exe in pythons.items()},
        "nixtox_commit": _git(repo, "rev-parse", "HEAD"),
        "nixtox_dirty": bool(_git(repo, "status", "--porcelain", "--", "src", "nix")),
    }


PYENV = Path("/root/.pyenv/versions")
PYTHONS = ("3.11", "3.12", "3.13")


def find_pythons() -> dict[str, str]:
    """Host interpreters by minor version: pyenv first, then PATH."""
    found: dict[str, str] = {}
    for minor in PYTHONS:
        candidates = sorted(PYENV.glob(f"{minor}.*/bin/python{minor}")) if PYENV.is_dir() else []
        exe = str(candidates[-1]) if candidates else shutil.which(f"python{minor}")
        if exe:
            found[minor] = exe
    return found
