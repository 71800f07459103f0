"""Running the real nixtox CLI on a fixture project, for integration tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "projects"


def make_project(tmp_path: Path, fixture: str, tox_ini: str) -> Path:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    (root / "tox.ini").write_text(tox_ini)
    return root


def nixtox_env(spy: Path | None = None, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if spy is not None:
        env["PATH"] = f"{spy}{os.pathsep}{env['PATH']}"
    env.update(extra_env or {})
    return env


def nixtox(
    root: Path, *args: str, spy: Path | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nixtox", *args],
        cwd=root,
        env=nixtox_env(spy, extra_env),
        capture_output=True,
        text=True,
        check=False,
    )


def start_nixtox(root: Path, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nixtox", *args],
        cwd=root,
        env=nixtox_env(None, extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def results(path: Path) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())["testenvs"]
    return data


def make_nix_spy(tmp_path: Path) -> Path:
    """A PATH directory whose nix-* programs log their argv and then run the real ones."""
    spy = tmp_path / "spy"
    spy.mkdir()
    log = tmp_path / "nix-calls.log"
    for program in ("nix-build", "nix-instantiate", "nix-store", "nix"):
        real = shutil.which(program)
        if real is None:
            continue
        script = spy / program
        script.write_text(f'#!/bin/sh\necho "{program} $*" >> {log}\nexec {real} "$@"\n')
        script.chmod(0o755)
    return spy


def nix_calls(spy: Path) -> list[str]:
    log = spy.parent / "nix-calls.log"
    return log.read_text().splitlines() if log.exists() else []
