"""The peer tools' venvs under ``bench/.venv``: plain tox, tox + tox-uv, nox + uv, and matplotlib.

tox and tox-uv live in separate venvs so plain tox really uses virtualenv + pip (tox-uv, once
installed, makes ``uv-venv-runner`` the default runner for every env).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["PINS", "VENVS", "ensure_venvs"]

#: exact versions installed from PyPI; recorded in every results file
PINS = {
    "tox": "4.67.15",
    "tox-uv": "1.37.1",
    "nox": "2026.10.20",
    "uv": "0.13.9",
    "virtualenv": "21.15.8",
    "matplotlib": "3.11.2",
}

VENVS = {
    "tox": ("tox", "virtualenv"),
    "tox-uv": ("tox", "tox-uv", "uv"),
    "nox": ("nox", "uv"),
    "plot": ("matplotlib",),
}


def installed_versions(bins: dict[str, Path]) -> dict[str, str]:
    """What each tool venv really holds: "tox (tox venv)" -> version, read with importlib.metadata."""
    out = {}
    for name, packages in VENVS.items():
        if name == "plot":
            continue
        code = "import importlib.metadata as m, sys; print(*(m.version(p) for p in sys.argv[1:]))"
        done = subprocess.run(
            [str(bins[name] / "python"), "-c", code, *packages], capture_output=True, text=True, check=False
        )
        for package, version in zip(packages, done.stdout.split(), strict=False):
            out[package if package != "tox" or name == "tox" else f"tox ({name} venv)"] = version
    return out


def _requirements(names: tuple[str, ...]) -> list[str]:
    return [f"{name}=={PINS[name]}" for name in names]


def ensure_venvs(root: Path, python: str = sys.executable, log=print) -> dict[str, Path]:
    """Create (once) each venv and install its pinned requirements; returns name -> bin dir."""
    bins = {}
    for name, packages in VENVS.items():
        venv = root / name
        stamp = venv / ".bench-requirements"
        wanted = "\n".join(_requirements(packages))
        if not (stamp.exists() and stamp.read_text(encoding="utf-8") == wanted):
            log(f"bench: creating {venv} ({', '.join(_requirements(packages))})")
            subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    *_requirements(packages),
                ],
                check=True,
            )
            stamp.write_text(wanted, encoding="utf-8")
        bins[name] = venv / "bin"
    return bins
