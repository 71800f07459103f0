"""Package formats come from pluggy hooks; built-in formats use the same hook as plugins."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nixtox.errors import ConfigError
from nixtox.plugins import get_plugin_manager, package_formats, reset_plugin_manager
from nixtox.plugins._manager import package_format
from nixtox.render import render_env
from tests.unit._values import locked, spec

PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture
def prebuilt_plugin() -> Iterator[None]:
    sys.path.insert(0, str(PLUGINS))
    import nixtox_prebuilt

    reset_plugin_manager()
    get_plugin_manager().register(nixtox_prebuilt)
    yield
    reset_plugin_manager()
    sys.path.remove(str(PLUGINS))


def test_builtin_formats_are_registered_through_the_hook() -> None:
    assert {"wheel", "sdist", "editable", "skip"} <= set(package_formats())


def test_aliases_and_unknown_formats() -> None:
    assert package_format("deps-only", env="py312").name == "skip"
    with pytest.raises(ConfigError, match=r"env py312: unknown package format 'zip'"):
        package_format("zip", env="py312")


def test_a_plugin_adds_a_format_that_renders(prebuilt_plugin: None, tmp_path: Path) -> None:
    assert "prebuilt" in package_formats()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    text = render_env(locked(spec(fmt="prebuilt")), root=tmp_path, project_name="demo").text
    assert '+ "/prebuilt"' in text
    assert "++ [ package ]" in text
