"""Interpreter requests and the host provider (probes real interpreters found on this machine)."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nixtox.errors import InterpreterNotFound
from nixtox.interpreters import ProbeCache, compute_tags, nixpkgs_attr, parse_request, resolve_interpreter
from nixtox.interpreters import _probe as probe_module
from nixtox.model import CoreConfig

PYENV = Path("/root/.pyenv/versions")


def host_python(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no host python{version}")
    return found[-1]


@pytest.mark.parametrize(
    ("text", "implementation", "version", "free_threaded"),
    [
        ("py312", None, (3, 12), False),
        ("py3.12", None, (3, 12), False),
        ("3.12", None, (3, 12), False),
        ("python3.12", None, (3, 12), False),
        ("cpython3.12", "cpython", (3, 12), False),
        ("cp312", "cpython", (3, 12), False),
        ("pypy310", "pypy", (3, 10), False),
        ("pypy3.10", "pypy", (3, 10), False),
        ("py312t", None, (3, 12), True),
        ("3.13t", None, (3, 13), True),
        ("py3", None, (3,), False),
        ("3", None, (3,), False),
        ("py27", None, (2, 7), False),
        ("3.12.1", None, (3, 12, 1), False),
        ("py", None, (), False),
    ],
)
def test_parse_request(
    text: str, implementation: str | None, version: tuple[int, ...], free_threaded: bool
) -> None:
    parsed = parse_request(text)
    assert parsed is not None
    assert (parsed.implementation, parsed.version, parsed.free_threaded) == (
        implementation,
        version,
        free_threaded,
    )


@pytest.mark.parametrize("text", ["django", "lint", "312", "py3t", "pypy310t", "docs"])
def test_non_requests(text: str) -> None:
    assert parse_request(text) is None


def test_path_request() -> None:
    parsed = parse_request("/opt/python/bin/python3")
    assert parsed is not None
    assert parsed.path == Path("/opt/python/bin/python3")


@given(
    impl=st.sampled_from(["py", "python", "cpython", "pypy"]),
    minor=st.integers(0, 30),
    dotted=st.booleans(),
    threaded=st.booleans(),
)
def test_request_spellings_agree(impl: str, minor: int, dotted: bool, threaded: bool) -> None:
    if impl == "pypy" and threaded:
        return
    text = f"{impl}3{'.' if dotted else ''}{minor}{'t' if threaded else ''}"
    parsed = parse_request(text)
    assert parsed is not None
    assert parsed.version == (3, minor)
    assert parsed.free_threaded is threaded
    assert parsed.implementation == {"py": None, "python": None}.get(impl, impl)


def test_nixpkgs_attributes() -> None:
    def attr(text: str) -> str | None:
        parsed = parse_request(text)
        assert parsed is not None
        return nixpkgs_attr(parsed)

    assert attr("py312") == "python312"
    assert attr("3.13t") == "python313FreeThreading"
    assert attr("pypy310") == "pypy310"
    assert attr("py3") == "python3"
    assert attr("py") == "python3"


def test_compute_tags_orders_specific_first() -> None:
    tags = compute_tags("cpython", (3, 12, 1), platforms=["manylinux_2_17_x86_64", "linux_x86_64"])
    assert tags[0] == "cp312-cp312-manylinux_2_17_x86_64"
    assert tags.index("cp312-abi3-manylinux_2_17_x86_64") < tags.index("py3-none-any")
    threaded = compute_tags("cpython", (3, 13, 0), free_threaded=True, platforms=["linux_x86_64"])
    assert threaded[0] == "cp313-cp313t-linux_x86_64"
    assert "cp313-abi3-linux_x86_64" not in threaded
    pypy = compute_tags(
        "pypy", (3, 10, 14), soabi="pypy310-pp73-x86_64-linux-gnu", platforms=["linux_x86_64"]
    )
    assert pypy[0] == "pp310-pypy310_pp73-linux_x86_64"


@pytest.fixture
def isolated_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with only the interpreters the test links into it (plus /usr/bin, searched always)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "no-uv"))
    monkeypatch.setenv("NIXTOX_CACHE_DIR", str(tmp_path / "cache"))
    return bin_dir


def core(tmp_path: Path, **kwargs: object) -> CoreConfig:
    return CoreConfig(root=tmp_path, config_file=tmp_path / "tox.ini", **kwargs)  # type: ignore[arg-type]


def test_resolves_from_path_and_caches_the_probe(
    isolated_host: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_host / "python3.12").symlink_to(host_python("3.12"))
    found = resolve_interpreter("py312", core(tmp_path), env_name="py312", cache=ProbeCache())
    assert found.version[:2] == (3, 12)
    assert found.executable == Path(os.path.realpath(host_python("3.12")))
    assert found.tags[0].startswith("cp312-cp312-")
    assert len(found.fingerprint) == 64
    assert dict(found.marker_env)["python_version"] == "3.12"

    def no_subprocess(*args: object, **kwargs: object) -> object:
        raise AssertionError("the warm path must not start a process")

    monkeypatch.setattr(probe_module, "run_process", no_subprocess)
    start = time.perf_counter()
    again = resolve_interpreter("3.12", core(tmp_path), env_name="py312", cache=ProbeCache())  # fresh memo
    assert again == dataclasses.replace(found, request="3.12")
    assert time.perf_counter() - start < 0.05


def test_absolute_path_request(isolated_host: Path, tmp_path: Path) -> None:
    python = host_python("3.9")
    found = resolve_interpreter(str(python), core(tmp_path), env_name="custom", cache=ProbeCache())
    assert found.version[:2] == (3, 9)


def test_newest_for_no_request(isolated_host: Path, tmp_path: Path) -> None:
    (isolated_host / "python3.9").symlink_to(host_python("3.9"))
    (isolated_host / "python3.13").symlink_to(host_python("3.13"))
    found = resolve_interpreter(None, core(tmp_path), env_name="py", cache=ProbeCache())
    assert found.version[:2] == (3, 13)


def test_too_old_interpreters_are_named_in_the_error(isolated_host: Path, tmp_path: Path) -> None:
    (isolated_host / "python3.7").symlink_to(host_python("3.7"))
    with pytest.raises(InterpreterNotFound) as info:
        resolve_interpreter("py37", core(tmp_path), env_name="py37", cache=ProbeCache())
    message = info.value.message
    assert message.startswith("env py37: no interpreter for py37")
    assert "host (PATH" in message
    assert "/usr/bin" in message
    assert "too old (nixtox needs 3.8+): cpython 3.7." in message
    assert "skip_missing_interpreters" in message


def test_missing_pypy_and_free_threaded(isolated_host: Path, tmp_path: Path) -> None:
    for request in ("pypy310", "py312t"):
        with pytest.raises(InterpreterNotFound, match=f"env e: no interpreter for {request}"):
            resolve_interpreter(request, core(tmp_path), env_name="e", cache=ProbeCache())


def test_unknown_request_and_unconfigured_nixpkgs(
    isolated_host: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InterpreterNotFound, match="'lint' is not an interpreter request"):
        resolve_interpreter("lint", core(tmp_path), env_name="lint", cache=ProbeCache())
    monkeypatch.setenv("NIX_PATH", "")
    with pytest.raises(InterpreterNotFound, match=r"nixpkgs \(not configured"):
        resolve_interpreter(
            "py399", core(tmp_path, interpreter_providers=("nixpkgs",)), env_name="e", cache=ProbeCache()
        )


def test_the_skip_setting_is_advised_only_when_it_is_not_set(isolated_host: Path, tmp_path: Path) -> None:
    skipping = dataclasses.replace(core(tmp_path), skip_missing_interpreters=True)
    with pytest.raises(InterpreterNotFound) as info:
        resolve_interpreter("py399", skipping, env_name="e", cache=ProbeCache())
    assert "skip_missing_interpreters" not in info.value.message
    assert "Install it" in info.value.message
