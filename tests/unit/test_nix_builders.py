"""The stdlib-only builder scripts in nix/builders/, exercised directly (no Nix)."""

from __future__ import annotations

import csv
import io
import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit._builders import builder_modules


@pytest.fixture(scope="module")
def builders() -> Iterator[tuple[ModuleType, ...]]:
    """``(_common, build_dist)``, imported without leaving pycs next to them."""
    with builder_modules("_common", "build_dist") as modules:
        yield modules


def test_dist_filename_strips_the_store_hash(builders: tuple[ModuleType, ModuleType]) -> None:
    common, _ = builders
    store = "/nix/store/0c5b8vw40dy178xlpddw65q9gf1h2186-pytest-8.3.4-py3-none-any.whl"
    assert common.dist_filename(store, None) == "pytest-8.3.4-py3-none-any.whl"
    assert common.dist_filename(store, "pkg-1!2-py3-none-any.whl") == "pkg-1!2-py3-none-any.whl"
    assert common.dist_filename("/tmp/a-1.0.tar.gz", None) == "a-1.0.tar.gz"


def test_resolve_wheels_links_real_names_and_takes_the_wheel_of_a_build_output(
    builders: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    common, _ = builders
    fetched = tmp_path / "0c5b8vw40dy178xlpddw65q9gf1h2186-x.whl"
    fetched.write_bytes(b"zip")
    built = tmp_path / "built"
    built.mkdir()
    (built / "p-1.0-py3-none-any.whl").write_bytes(b"zip")
    (built / "p-1.0.tar.gz").write_bytes(b"tar")
    entries = json.dumps(
        [{"path": str(fetched), "filename": "a-1.0-py3-none-any.whl"}, {"path": str(built), "filename": None}]
    )
    wheels = common.resolve_wheels(entries, str(tmp_path / "links"))
    assert [name for _, name in wheels] == ["a-1.0-py3-none-any.whl", "p-1.0-py3-none-any.whl"]
    assert [Path(link).name for link, _ in wheels] == ["a-1.0-py3-none-any.whl", "p-1.0-py3-none-any.whl"]
    assert Path(wheels[0][0]).resolve() == fetched


def test_resolve_wheels_refuses_an_sdist(builders: tuple[ModuleType, ModuleType], tmp_path: Path) -> None:
    common, _ = builders
    sdist = tmp_path / "a-1.0.tar.gz"
    sdist.write_bytes(b"tar")
    with pytest.raises(common.BuilderError, match="not a wheel; build sdists with buildDist first"):
        common.resolve_wheels(
            json.dumps([{"path": str(sdist), "filename": "a-1.0.tar.gz"}]), str(tmp_path / "l")
        )


def test_self_referencing_hashes_are_blanked(builders: tuple[ModuleType, ModuleType], tmp_path: Path) -> None:
    common, _ = builders
    site = tmp_path / "out" / "lib" / "site-packages"
    (site / "d-1.dist-info").mkdir(parents=True)
    (tmp_path / "out" / "bin").mkdir()
    (tmp_path / "out" / "bin" / "tool").write_text(f"#!{tmp_path}/out/bin/python\n")
    (site / "d.py").write_text("x = 1\n")
    record = site / "d-1.dist-info" / "RECORD"
    record.write_text("../../bin/tool,sha256=AAA,30\nd.py,sha256=BBB,6\nd-1.dist-info/RECORD,,\n")
    common.blank_self_referencing_hashes(str(record), f"{tmp_path}/out")
    rows = list(csv.reader(io.StringIO(record.read_text())))
    assert rows == [
        ["../../bin/tool", "", "30"],
        ["d.py", "sha256=BBB", "6"],
        ["d-1.dist-info/RECORD", "", ""],
    ]


def test_build_system_falls_back_to_setuptools_legacy(
    builders: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    _, build_dist = builders
    assert build_dist.read_build_system(str(tmp_path)) == (
        "setuptools.build_meta:__legacy__",
        None,
        ["setuptools>=40.8.0"],
    )
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core"]\n'
        'build-backend = "flit_core.buildapi"\nbackend-path = ["."]\n'
    )
    assert build_dist.read_build_system(str(tmp_path)) == ("flit_core.buildapi", ["."], ["flit_core"])


def test_invalid_pyproject_is_a_clear_error(builders: tuple[ModuleType, ModuleType], tmp_path: Path) -> None:
    common, build_dist = builders
    (tmp_path / "pyproject.toml").write_text("[build-system\n")
    with pytest.raises(common.BuilderError, match="is not valid TOML"):
        build_dist.read_build_system(str(tmp_path))


def test_unpack_sdist_returns_its_single_top_directory(
    builders: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    common, build_dist = builders
    top = tmp_path / "p-1.0"
    (top / "src").mkdir(parents=True)
    (top / "pyproject.toml").write_text("")
    sdist = tmp_path / "p-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(top, arcname="p-1.0")
    unpacked = build_dist.unpack_sdist(str(sdist), str(tmp_path / "unpacked"))
    assert Path(unpacked).name == "p-1.0"
    assert (Path(unpacked) / "pyproject.toml").is_file()
    assert (Path(unpacked) / "pyproject.toml").stat().st_mtime == common.SOURCE_DATE_EPOCH

    flat = tmp_path / "flat.tar.gz"
    with tarfile.open(flat, "w:gz") as archive:
        archive.add(top / "pyproject.toml", arcname="pyproject.toml")
    with pytest.raises(common.BuilderError, match="one top-level directory"):
        build_dist.unpack_sdist(str(flat), str(tmp_path / "flat"))


def test_editable_tree_writes_are_recorded_in_the_wheel_and_its_record(
    builders: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    import base64
    import hashlib
    import zipfile

    tree_files = sys.modules["_tree_files"]  # imported by build_dist
    root = tmp_path / "tree"
    (root / "src" / "demo").mkdir(parents=True)
    (root / "src" / "demo" / "__init__.py").write_text("from ._version import version\n")
    (root / ".git").mkdir()
    before = tree_files.snapshot(str(root))
    # what flit_scm's build_editable does, and what must not count: VCS data, egg-info, build dirs
    (root / "src" / "demo" / "_version.py").write_text("version = '1.0.post3'\n")
    (root / ".git" / "index").write_text("x")
    (root / "demo.egg-info").mkdir()
    (root / "demo.egg-info" / "PKG-INFO").write_text("x")
    (root / "build").mkdir()
    (root / "build" / "lib.py").write_text("x")
    wheel = tmp_path / "demo-1.0.post3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo.pth", str(root / "src") + "\n")
        archive.writestr("demo-1.0.post3.dist-info/METADATA", "Name: demo\nVersion: 1.0.post3\n")
        archive.writestr("demo-1.0.post3.dist-info/RECORD", "demo.pth,,\ndemo-1.0.post3.dist-info/RECORD,,\n")
    tree_files.record(str(wheel), str(root), before)
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read("demo-1.0.post3.dist-info/nixtox-tree-files.json")
        rows = list(csv.reader(io.StringIO(archive.read("demo-1.0.post3.dist-info/RECORD").decode())))
    recorded = json.loads(data)
    assert recorded["root"] == str(root)
    assert [(f["path"], base64.b64decode(f["content"])) for f in recorded["files"]] == [
        ("src/demo/_version.py", b"version = '1.0.post3'\n")
    ]
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert ["demo-1.0.post3.dist-info/nixtox-tree-files.json", f"sha256={digest}", str(len(data))] in rows
    unchanged = tmp_path / "plain.whl"
    wheel.rename(unchanged)
    tree_files.record(str(unchanged), str(root), tree_files.snapshot(str(root)))  # nothing written: no change
    with zipfile.ZipFile(unchanged) as archive:
        assert archive.read("demo-1.0.post3.dist-info/nixtox-tree-files.json") == data
