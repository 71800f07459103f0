"""nixtox's --result-json against real tox's: every key tox writes, with its value type, at every depth.

Both tools run the same small project (hatchling_proj with pytest) on CPython 3.12; the comparison is of
shapes, not values: a key tox writes must be in nixtox's file, a value must have tox's JSON type (a
list's items the type of tox's items), so a tool written for tox's file reads nixtox's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nixtox.report._json import TOX_SCHEMA_VERSION
from tests.integration._nixtox import make_project, nixtox
from tests.integration.conftest import PYENV_VERSIONS

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
deps = pytest
commands = pytest -q -p no:cacheprovider tests
"""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string"}.get(
        type(value), type(value).__name__
    )


def gaps(tox: Any, ours: Any, path: str = "$") -> list[str]:
    """Where ``ours`` lacks a key of ``tox`` or has another type; [] when it covers tox's shape."""
    if isinstance(tox, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {_kind(ours)}, tox has an object"]
        found: list[str] = []
        for key, value in tox.items():
            found += gaps(value, ours[key], f"{path}.{key}") if key in ours else [f"{path}.{key}: missing"]
        return found
    if isinstance(tox, list):
        return _list_gaps(tox, ours, path)
    if _kind(tox) != _kind(ours):
        return [f"{path}: {_kind(ours)}, tox has {_kind(tox)}"]
    return []


def _list_gaps(tox: list[Any], ours: Any, path: str) -> list[str]:
    if not isinstance(ours, list):
        return [f"{path}: {_kind(ours)}, tox has a list"]
    if tox and not ours:
        return [f"{path}: empty, tox has items"]
    kinds = {_kind(item) for item in tox}
    if len(kinds) > 1:  # a record such as version_info: positional
        if len(ours) != len(tox):
            return [f"{path}: {len(ours)} items, tox has {len(tox)}"]
        return [g for i, (a, b) in enumerate(zip(tox, ours, strict=True)) for g in gaps(a, b, f"{path}[{i}]")]
    if kinds == {"dict"}:  # records: each of ours carries every key that all of tox's records have
        model: Any = {k: v for k, v in tox[0].items() if all(k in item for item in tox)}
    else:
        model = tox[0] if tox else None
    return [g for i, item in enumerate(ours) for g in gaps(model, item, f"{path}[{i}]")] if tox else []


def test_gaps_notice_a_missing_key_a_type_and_a_short_record() -> None:
    tox = {"a": {"b": [1, 2]}, "c": [3, 12, "final"], "d": [{"x": 1, "y": "s"}, {"x": 2}]}
    assert gaps(tox, {"a": {"b": [5]}, "c": [3, 13, "rc"], "d": [{"x": 0}], "extra": 1}) == []
    assert gaps(tox, {"a": {"b": ["5"]}, "c": [3, 13], "d": [{"y": "s"}]}) == [
        "$.a.b[0]: string, tox has number",
        "$.c: 2 items, tox has 3",
        "$.d[0].x: missing",
    ]


#: what virtualenv seeds into every tox env; a nixtox env holds only what the env asks for
SEEDED = {"pip", "setuptools", "wheel"}


def _names(freeze: list[str]) -> set[str]:
    return {line.split("==")[0].split(" @ ")[0].lower() for line in freeze}


def _python312() -> Path:
    found = sorted(PYENV_VERSIONS.glob("3.12.*/bin/python3.12"))
    if not found:
        pytest.skip(f"no CPython 3.12 under {PYENV_VERSIONS}")
    return found[-1].parent


def _tox_json(root: Path, out: Path) -> dict[str, Any]:
    if importlib.util.find_spec("tox") is None:
        pytest.skip("tox is not installed (pip install -e '.[test]')")
    env = dict(os.environ, PATH=f"{_python312()}{os.pathsep}{os.environ['PATH']}")
    argv = [sys.executable, "-m", "tox", "run", "-e", "py312", "--result-json", str(out)]
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_nixtox_writes_every_key_tox_writes_with_toxs_types(tmp_path: Path) -> None:
    tox_root = make_project(tmp_path / "tox", "hatchling_proj", TOX_INI)
    theirs = _tox_json(tox_root, tmp_path / "tox.json")
    root = make_project(tmp_path / "nixtox", "hatchling_proj", TOX_INI)
    out = nixtox(root, "run", "--result-json", str(tmp_path / "nixtox.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    ours = json.loads((tmp_path / "nixtox.json").read_text(encoding="utf-8"))

    top = {k: v for k, v in theirs.items() if k != "testenvs"}
    assert gaps(top, ours) == []
    assert gaps(theirs["testenvs"]["py312"], ours["testenvs"]["py312"], "$.testenvs.py312") == []
    # the values that mean the same in both
    tox_env, env = theirs["testenvs"]["py312"], ours["testenvs"]["py312"]
    for key in (
        "implementation",
        "version_info",
        "is_64",
        "sysplatform",
        "free_threaded",
        "debug",
        "machine",
    ):
        assert env["python"][key] == tox_env["python"][key], key
    assert env["python"]["version"] == tox_env["python"]["version"].split()[0]
    assert Path(env["test"][0]["command"][0]).is_absolute()
    assert _names(env["installed_packages"]) == _names(tox_env["installed_packages"]) - SEEDED
    assert env["installpkg"]["basename"] == tox_env["installpkg"]["basename"]  # the same sdist file name
    assert ours["toxversion"] == TOX_SCHEMA_VERSION
