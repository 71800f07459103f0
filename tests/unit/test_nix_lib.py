"""The Nix library's functions, evaluated (never built) with nix-instantiate: expected outputs and errors.

Evaluation needs no network and no build, so these run in well under a second each; they are skipped
only where nix-instantiate is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv
from nixtox.pyproject import read_pyproject
from nixtox.source import metadata_hash

NIX_LIBRARY = Path(__file__).resolve().parents[2] / "nix"

pytestmark = pytest.mark.skipif(shutil.which("nix-instantiate") is None, reason="nix-instantiate not on PATH")

PYTHON = '{ executable = "/usr/bin/python3"; version = "3.11.2"; fingerprint = "fp"; }'


def evaluate(body: str, *, expect_error: bool = False) -> object:
    """Evaluate ``body`` with ``nixtox`` (the library) and ``python`` in scope; JSON result or stderr."""
    expr = f"let nixtox = import {NIX_LIBRARY} {{ }}; python = {PYTHON}; in {body}"
    proc = subprocess.run(
        ["nix-instantiate", *nix_options_argv(NixOptions()), "--eval", "--strict", "--json", "-E", expr],
        capture_output=True,
        text=True,
        env={**os.environ, "NIX_PATH": ""},
        check=False,
    )
    if expect_error:
        assert proc.returncode != 0, proc.stdout
        return proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pytest-8.3.4-py3-none-any.whl", "pytest-8.3.4-py3-none-any.whl"),
        ("torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl", "torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl"),
        ("pkg-1!2.0.tar.gz", "pkg-1_2.0.tar.gz"),
        (".hidden name", "_hidden_name"),
        ("(sdist) py312", "_sdist__py312"),
    ],
)
def test_sanitise_name(name: str, expected: str) -> None:
    assert evaluate(f"nixtox.lib.sanitiseName {json.dumps(name)}") == expected


def test_fetch_dist_keeps_the_real_file_name_when_the_store_name_is_sanitised() -> None:
    result = evaluate(
        'let d = nixtox.fetchDist { filename = "pkg-1!2.0-py3-none-any.whl"; url = "https://example.invalid/x";'
        ' sha256 = "05d1933f0a5ba7d8d6296bb6d5018e7c94fa473ceb10cf198a92ccea19c27b53"; };'
        " in { inherit (d) name filename; builder = d.drvAttrs.builder; }"
    )
    assert result == {
        "name": "pkg-1_2.0-py3-none-any.whl",
        "filename": "pkg-1!2.0-py3-none-any.whl",
        "builder": "builtin:fetchurl",
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('nixtox.fetchDist { filename = "x.exe"; url = "u"; sha256 = "00"; }', '"x.exe" is neither a wheel'),
        ('nixtox.fetchDist { filename = "x-1-py3-none-any.whl"; url = "u"; sha256 = "abc"; }', 'got "abc"'),
        ('nixtox.buildDist { pname = "p"; src = /tmp; format = 3; inherit python; }', "got 3"),
        ('nixtox.buildDist { pname = "p"; format = "editable"; inherit python; }', "needs projectRoot"),
        ('nixtox.buildDist { pname = "p"; inherit python; }', "needs src"),
        ('nixtox.mkEnv { name = "e"; python = { version = "3.12"; }; wheels = [ ]; }', "python.executable"),
        (
            'nixtox.mkEnv { name = "e"; python = python // { fingerprint = ""; }; wheels = [ ]; }',
            "fingerprint",
        ),
        ('nixtox.mkEnv { name = "e"; inherit python; wheels = [ 1 ]; }', "not a wheel"),
        ('nixtox.projectSource { path = "relative/dir"; }', 'got "relative/dir"'),
    ],
)
def test_errors_name_the_bad_value(call: str, message: str) -> None:
    stderr = evaluate(f"({call}).drvPath or ({call}).outPath", expect_error=True)
    assert isinstance(stderr, str)
    assert "nixtox:" in stderr
    assert message in stderr


def test_derivations_carry_python_fingerprint_path_and_epoch() -> None:
    result = evaluate('(nixtox.mkEnv { name = "py311"; inherit python; wheels = [ ]; }).drvAttrs')
    assert isinstance(result, dict)
    assert result["pythonFingerprint"] == "fp"
    assert result["builder"] == "/usr/bin/python3"
    assert result["PATH"] == "/usr/bin:/usr/bin:/bin"
    assert result["SOURCE_DATE_EPOCH"] == "315532800"
    assert result["layersJson"] == "[]"


def test_shell_is_usable_by_nix_develop() -> None:
    result = evaluate(
        'let s = nixtox.mkShell { env = nixtox.mkEnv { name = "py311"; inherit python; wheels = [ ]; }; };'
        " in { inherit (s.drvAttrs) builder outputs; name = s.name; path = s.drvAttrs.PATH; }"
    )
    assert isinstance(result, dict)
    assert result["builder"] == "/bin/bash"
    assert result["outputs"] == ["out"]
    assert result["name"] == "py311-shell"
    assert result["path"].endswith("-py311/bin:/usr/bin:/bin")


def _tree(root: Path) -> Path:
    files = {
        "pyproject.toml": "[project]\nname = 'p'\n",
        "src/p/__init__.py": "",
        "src/p/build/__init__.py": "# a subpackage named build is source\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def source_path(root: Path) -> str:
    result = evaluate(f'"${{nixtox.projectSource {{ path = {json.dumps(str(root))}; }}}}"')
    assert isinstance(result, str)
    return result


def test_project_source_ignores_unrelated_files(tmp_path: Path) -> None:
    root = _tree(tmp_path / "proj")
    before = source_path(root)
    for noise in (
        ".git/HEAD", ".tox/py/x", ".nixtox/state", ".venv/bin/python", "venv/pyvenv.cfg",
        "src/p/__pycache__/__init__.cpython-312.pyc", "src/p/mod.pyc", ".pytest_cache/v", ".mypy_cache/x",
        ".ruff_cache/x", ".hypothesis/x", "build/lib/p.py", "dist/p-1.tar.gz", "src/p.egg-info/PKG-INFO",
    ):  # fmt: skip
        (root / noise).parent.mkdir(parents=True, exist_ok=True)
        (root / noise).write_text("noise")
    (root / "result").symlink_to("/nix/store")
    assert source_path(root) == before
    assert before.endswith("-source")

    (root / "src" / "p" / "build" / "__init__.py").write_text("# edited\n")
    assert source_path(root) != before


def test_metadata_hash_follows_metadata_files_only(tmp_path: Path) -> None:
    root = _tree(tmp_path / "proj")
    before = metadata_hash(root)
    (root / "src" / "p" / "__init__.py").write_text("x = 1\n")
    assert metadata_hash(root) == before
    (root / "setup.cfg").write_text("[metadata]\n")
    assert metadata_hash(root) != before
    assert read_pyproject(root).metadata_digest == metadata_hash(root)  # one definition


def test_editable_build_takes_project_root_as_a_string_not_a_store_copy(tmp_path: Path) -> None:
    root = _tree(tmp_path / "proj")
    digest = metadata_hash(root)
    result = evaluate(
        f'(nixtox.buildDist {{ pname = "p"; format = "editable"; inherit python; projectRoot = {root};'
        f' metadataHash = "{digest}"; }}).drvAttrs'
    )
    assert isinstance(result, dict)
    assert result["projectRoot"] == str(root)
    assert "src" not in result
    assert result["metadataHash"] == digest


def test_tools_are_pinned_wheels() -> None:
    result = evaluate(
        'map (n: nixtox.tools.${n}.filename) [ "installer" "pyprojectHooks" "packaging" "tomli" ]'
    )
    assert result == [
        "installer-0.7.0-py3-none-any.whl",
        "pyproject_hooks-1.2.0-py3-none-any.whl",
        "packaging-24.2-py3-none-any.whl",
        "tomli-2.0.1-py3-none-any.whl",
    ]
