"""Local requirements and the project's own name, with real uv, real Nix builds and real imports.

* ``deps`` may name what tox accepts: the project with extras (``.[extra]`` with ``skip_install``),
  another local project (built in Nix from its tree, or ``-e`` editable), a local wheel file;
* the project replaces a requirement on its own name: a dependency that needs the project gets the
  project's own build, never the index's release of it (the env imports the project from its build).
"""

from __future__ import annotations

import base64
import hashlib
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.integration._nixtox import nixtox

pytestmark = pytest.mark.nix

FLIT = '[build-system]\nrequires = ["flit_core>=3.4,<5"]\nbuild-backend = "flit_core.buildapi"\n'


def _project(root: Path, name: str, version: str, body: str, *, deps: str = "[]", extra: str = "") -> Path:
    module = name.replace("-", "_")
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text(f'"""{name}."""\n__version__ = "{version}"\n{body}\n')
    (root / "pyproject.toml").write_text(
        f'{FLIT}[project]\nname = "{name}"\nversion = "{version}"\ndescription = "x"\n'
        f"dependencies = {deps}\n{extra}"
    )
    return root


def _wheel(directory: Path, name: str, version: str, body: str, requires: tuple[str, ...] = ()) -> Path:
    """A one-module pure wheel, made by hand."""
    module = name.replace("-", "_")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"{body}\n".encode(),
        f"{dist_info}/METADATA": meta.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 simple index in a directory, serving ``wheels``; its ``file://`` URL."""
    for wheel in wheels:
        project = wheel.name.split("-")[0].replace("_", "-")
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        page = root / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        link = f'<a href="../files/{wheel.name}#sha256={sha}">{wheel.name}</a>\n'
        page.write_text(page.read_text() + link if page.exists() else link)
    return root.as_uri()


def test_a_dependency_on_the_projects_own_name_gets_the_project(tmp_path: Path) -> None:
    files = tmp_path / "index" / "files"
    files.mkdir(parents=True)
    released = _wheel(files, "nt-own", "1.0", "ORIGIN = 'the index release'")
    consumer = _wheel(files, "nt-consumer", "1.0", "import nt_own\nUSES = nt_own.ORIGIN", ("nt-own>=1",))
    index = _index(tmp_path / "index", [released, consumer])
    root = _project(tmp_path / "proj", "nt-own", "2.0", "ORIGIN = 'the project'")
    (root / "tox.ini").write_text(
        textwrap.dedent(
            f"""\
            [tox]
            env_list = py312, py312-wheel
            [testenv]
            set_env = UV_EXTRA_INDEX_URL = {index}
            deps = nt-consumer
            commands = python -c "import nt_consumer, nt_own; print('imports', nt_own.ORIGIN, nt_own.__version__, nt_consumer.USES)"
            [testenv:py312-wheel]
            package = wheel
            """
        )
    )
    out = nixtox(root, "run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("imports the project 2.0 the project") == 2, out.stdout


def test_local_projects_files_and_the_project_with_extras_in_deps(tmp_path: Path) -> None:
    _project(
        tmp_path / "libs" / "built", "nt-built", "0.1", "WHERE = 'built from its tree'", deps='["attrs"]'
    )
    editable = _project(tmp_path / "libs" / "live", "nt-live", "0.1", "WHERE = 'live'")
    (tmp_path / "wheels").mkdir()
    _wheel(tmp_path / "wheels", "nt-file", "3.0", "WHERE = 'a local wheel'")
    root = _project(
        tmp_path / "proj",
        "nt-main",
        "1.0",
        "WHERE = 'main'",
        extra='[project.optional-dependencies]\nextra = ["six"]\n',
    )
    (root / "tox.ini").write_text(
        textwrap.dedent(
            """\
            [tox]
            env_list = py312
            [testenv]
            skip_install = true
            deps =
                .[extra]
                ../libs/built
                -e ../libs/live
                ../wheels/nt_file-3.0-py3-none-any.whl
            commands =
                python -c "import nt_main, nt_built, nt_live, nt_file, attrs, six; print('|'.join(m.WHERE for m in (nt_main, nt_built, nt_live, nt_file)))"
                python -c "import nt_live, os; print('live from', os.path.dirname(nt_live.__file__))"
            """
        )
    )
    out = nixtox(root, "run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "main|built from its tree|live|a local wheel" in out.stdout
    assert f"live from {editable / 'nt_live'}" in out.stdout  # editable: the live tree, not a copy
    (editable / "nt_live" / "__init__.py").write_text('WHERE = "edited"\n')
    again = nixtox(root, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "main|built from its tree|edited|a local wheel" in again.stdout
