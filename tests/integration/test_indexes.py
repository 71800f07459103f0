"""Index settings tox users already have: an extra ``file://`` index named in an env's ``set_env`` is
locked against, its files are fetched by Nix, and the machine's pip configuration plays no part."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from nixtox.lock import LockFile
from tests.integration._nixtox import make_project, nixtox

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
skip_install = true
set_env =
    UV_EXTRA_INDEX_URL = file://{toxinidir}/../index
deps =
    nixtox-index-fixture
    pytest
commands =
    python -c "import nixtox_index_fixture as m; print('fixture says', m.GREETING)"
"""


def _wheel(directory: Path) -> Path:
    """A one-module pure wheel, made by hand (no pip, so no machine configuration is involved)."""
    name, version = "nixtox_index_fixture", "1.0"
    files = {
        f"{name}/__init__.py": b"GREETING = 'hello from a file:// index'\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: nixtox-index-fixture\nVersion: {version}\n"
        ).encode(),
        f"{name}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _simple_index(root: Path) -> Path:
    """A PEP 503 simple index in a directory: ``<root>/nixtox-index-fixture/index.html``."""
    files = root / "files"
    files.mkdir(parents=True)
    wheel = _wheel(files)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    page = root / "nixtox-index-fixture" / "index.html"
    page.parent.mkdir()
    page.write_text(
        f'<html><body><a href="../files/{wheel.name}#sha256={sha}">{wheel.name}</a></body></html>\n'
    )
    return wheel


def test_an_extra_file_index_from_set_env_is_locked_and_fetched_by_nix(tmp_path: Path) -> None:
    wheel = _simple_index(tmp_path / "index")
    root = make_project(tmp_path, "flit_proj", TOX_INI)
    out = nixtox(root, "run", extra_env={"PIP_CONFIG_FILE": "/dev/null"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "fixture says hello from a file:// index" in out.stdout
    (entry,) = LockFile.read(root / "nixtox.lock").entries.values()
    urls = {d.name: d.url for d in entry.dists}
    assert urls["nixtox-index-fixture"] == wheel.as_uri()
    assert urls["pytest"].startswith("https://")
