"""``nix/builders/pytest_bytecode.py``: which modules pytest rewrites, and the files it reads back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc
from _pytest.config import _iter_rewritable_modules
from hypothesis import given
from hypothesis import strategies as st

from tests.unit._builders import builder_modules


@pytest.fixture(scope="module")
def builder() -> Iterator[ModuleType]:
    with builder_modules("pytest_bytecode") as (module,):
        yield module


_part = st.sampled_from(["pkg", "src", "setup", "__editable__x", "mod", "tests", "__init__"])
_file = st.lists(_part, min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([".py", ".pyi", ".txt", "/__init__.py"]).map(
        lambda end: "/".join(parts) + end
    )
)


@given(st.lists(_file, max_size=8))
def test_the_modules_marked_are_pytests_own_choice(builder: ModuleType, files: list[str]) -> None:
    assert builder.rewritable_modules(files) == sorted(set(_iter_rewritable_modules(files)))


def test_plugins_are_rewritten_where_pytest_reads_them_back(builder: ModuleType, tmp_path: Path) -> None:
    """A plugin distribution's modules (a package and a top-level module) get pytest's pyc beside the
    layers' layout; pytest's own reader accepts each for its source; other distributions get none."""
    site = tmp_path / "layer" / "site-packages"
    (site / "plug" / "sub").mkdir(parents=True)
    (site / "plug" / "__init__.py").write_text("def f():\n    assert 1 == 1\n")
    (site / "plug" / "sub" / "deep.py").write_text("x = 1\n")
    (site / "plug" / "broken.py").write_text("def (:\n")  # pytest fails on it at import too
    (site / "_plug_hook.py").write_text("hook = True\n")
    (site / "other").mkdir()
    (site / "other" / "__init__.py").write_text("y = 2\n")
    dist = site / "plug-1.0.dist-info"
    dist.mkdir()
    (dist / "entry_points.txt").write_text("[pytest11]\nplug = _plug_hook\n")
    record = [
        "plug/__init__.py",
        "plug/sub/deep.py",
        "plug/broken.py",
        "_plug_hook.py",
        "plug-1.0.dist-info/RECORD",
    ]
    (dist / "RECORD").write_text("".join(f"{f},,\n" for f in record))
    (site / "other-1.0.dist-info").mkdir()
    (site / "other-1.0.dist-info" / "RECORD").write_text("other/__init__.py,,\n")
    target = tmp_path / "out" / "site-packages"
    assert builder.write_rewritten([], [str(site)], str(target)) == 3  # broken.py: none
    for source in ("plug/__init__.py", "plug/sub/deep.py", "_plug_hook.py"):
        head, name = source.rsplit("/", 1) if "/" in source else ("", source)
        pyc = target / head / "__pycache__" / (name[:-3] + PYC_TAIL)
        assert _read_pyc(site / source, pyc) is not None, source
    assert not (target / "plug" / "__pycache__" / ("broken" + PYC_TAIL)).exists()
    assert not (target / "other").exists()
    (site / "plug" / "sub" / "deep.py").write_text("x = 2\n")  # an edited source: pytest rewrites it
    assert _read_pyc(site / "plug/sub/deep.py", target / "plug/sub/__pycache__" / ("deep" + PYC_TAIL)) is None


def test_every_builder_and_check_loads_on_the_oldest_supported_python() -> None:
    """They run inside Nix builds and test commands on the env's own interpreter, 3.8 and up: a module
    that only newer Pythons can load (``tuple[str, str]`` outside an annotation) fails every 3.8 env."""
    oldest = sorted(Path.home().glob(".pyenv/versions/3.8.*/bin/python3.8"))
    if not oldest:
        pytest.skip("no CPython 3.8 under ~/.pyenv/versions")
    library = Path(__file__).resolve().parents[2] / "nix"
    for module in sorted([*library.glob("builders/*.py"), *library.glob("checks/*.py")]):
        load = (
            "import importlib.util, sys; sys.path.insert(0, sys.argv[1].rsplit('/', 1)[0]); "
            "spec = importlib.util.spec_from_file_location('m', sys.argv[1]); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
        )
        done = subprocess.run(
            [str(oldest[-1]), "-I", "-B", "-c", load, str(module)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{module.name}: {done.stderr.strip().splitlines()[-1:]}"
