"""Package formats come from pluggy hooks; built-in formats use the same hook as plugins."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nixtox.config import load_project
from nixtox.errors import ConfigError
from nixtox.plugins import find_format, package_formats, register_plugin, reset_plugin_manager
from nixtox.render import env_text, render_env
from tests.unit._values import locked, spec

PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture
def prebuilt_plugin() -> Iterator[None]:
    sys.path.insert(0, str(PLUGINS))
    import nixtox_prebuilt

    reset_plugin_manager()
    register_plugin(nixtox_prebuilt)
    yield
    reset_plugin_manager()
    sys.path.remove(str(PLUGINS))


def test_builtin_formats_are_registered_through_the_hook() -> None:
    assert {"wheel", "sdist", "editable", "skip"} <= set(package_formats())


def test_aliases_and_unknown_formats(tmp_path: Path) -> None:
    deps_only = find_format("deps-only")
    assert deps_only is not None
    assert deps_only.name == "skip"
    assert find_format("zip") is None
    (tmp_path / "tox.ini").write_text("[testenv]\npackage_formats = wheel zip\n")
    with pytest.raises(
        ConfigError, match=r"tox.ini: \[testenv\] key 'package_formats': unknown package format 'zip'"
    ):
        load_project(tmp_path)


def test_a_plugin_adds_a_format_that_renders(prebuilt_plugin: None, tmp_path: Path) -> None:
    assert "prebuilt" in package_formats()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    text = env_text(render_env(locked(spec(fmt="prebuilt")), root=tmp_path, project_name="demo"))
    assert '+ "/prebuilt"' in text
    assert re.search(r"projectWheels = \[\s*package\s*\];", text)
