"""The nixpkgs interpreter provider, against the stand-in nixpkgs in tests/fixtures/nixpkgs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nixtox.errors import InterpreterNotFound
from nixtox.interpreters import ProbeCache, resolve_interpreter
from nixtox.model import CoreConfig

pytestmark = pytest.mark.nix

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nixpkgs"


@pytest.fixture(autouse=True)
def _requirements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("nix-build") is None:
        pytest.skip("nix-build not installed")
    for version in ("3.11", "3.12"):
        if not list(Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python{version}")):
            pytest.skip(f"the stand-in nixpkgs links a host python{version}")
    monkeypatch.setenv("NIXTOX_CACHE_DIR", str(tmp_path / "cache"))


def core(root: Path, nixpkgs: str | None, providers: tuple[str, ...] = ("nixpkgs",)) -> CoreConfig:
    return CoreConfig(
        root=root, config_file=root / "tox.ini", nixpkgs=nixpkgs, interpreter_providers=providers
    )


def test_builds_python312_from_the_configured_nixpkgs(tmp_path: Path) -> None:
    found = resolve_interpreter("py312", core(tmp_path, str(FIXTURE)), env_name="py312", cache=ProbeCache())
    assert found.provider == "nixpkgs"
    assert found.nix_attr == "python312"
    assert found.nixpkgs == str(FIXTURE)
    assert str(found.executable).startswith("/nix/store/")
    assert found.executable.name == "python3.12"
    assert found.version[:2] == (3, 12)
    assert found.tags[0].startswith("cp312-cp312-")


def test_nixpkgs_from_nix_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIX_PATH", f"nixpkgs={FIXTURE}")
    found = resolve_interpreter("3.11", core(tmp_path, None), env_name="py311", cache=ProbeCache())
    assert (found.provider, found.nix_attr, found.version[:2]) == ("nixpkgs", "python311", (3, 11))


def test_missing_attribute_falls_back_to_the_next_provider(tmp_path: Path) -> None:
    both = core(tmp_path, str(FIXTURE), ("nixpkgs", "host"))
    found = resolve_interpreter("py310", both, env_name="py310", cache=ProbeCache())
    assert found.provider == "host"
    with pytest.raises(InterpreterNotFound, match=r"searched nixpkgs .*python399.*not found"):
        resolve_interpreter("py399", core(tmp_path, str(FIXTURE)), env_name="py399", cache=ProbeCache())


def test_second_resolve_does_not_call_nix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = core(tmp_path, str(FIXTURE))
    first = resolve_interpreter("py312", config, env_name="py312", cache=ProbeCache())
    monkeypatch.setenv("PATH", "/nonexistent")  # nix-build is no longer reachable
    again = resolve_interpreter("py312", config, env_name="py312", cache=ProbeCache())
    assert again == first
