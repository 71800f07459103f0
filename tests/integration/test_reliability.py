"""Regressions of the fault and misuse audit (issue 11) with the real Nix: store, roots, source, state."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration._nixtox import make_project, nixtox, results

pytestmark = pytest.mark.nix

TAMPER = (
    "python -c \"import termcolor, os; "
    "open(os.path.join(os.path.dirname(termcolor.__file__), '__init__.py'), 'a').write('X=1')\""
)


def _closure(path: str) -> list[str]:
    out = subprocess.run(["nix-store", "-qR", path], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_a_command_cannot_write_into_the_layers_envs_share(tmp_path: Path) -> None:
    ini = f"[tox]\nenv_list = py312\n[testenv]\npackage_formats = skip\ndeps = termcolor\ncommands = {TAMPER}\n"
    root = make_project(tmp_path, "setuptools_proj", ini)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "r.json"))
    assert out.returncode != 0  # the write fails ...
    assert "Read-only file system" in out.stdout
    store_path = results(tmp_path / "r.json")["py312"]["store_path"]
    verify = subprocess.run(
        ["nix-store", "--verify-path", *_closure(store_path)], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stderr  # ... and every path of the env is intact
    shell = nixtox(root, "shell", "py312", "--", "sh", "-c", "touch $VIRTUAL_ENV/x; echo rc=$?")
    assert "Read-only file system" in shell.stdout + shell.stderr
    assert not (Path(store_path) / "x").exists()
