"""Small hand-made stage values for unit tests of render, realise, run and report."""

from __future__ import annotations

from pathlib import Path

from nixtox.model import Command, DistKind, EnvConfig, EnvSpec, Interpreter, LockedDist, LockedEnv
from nixtox.plugins import PackageFormat, find_format

PY312 = Interpreter(
    request="py312",
    implementation="cpython",
    version=(3, 12, 1),
    executable=Path("/opt/python/3.12.1/bin/python3.12"),
    fingerprint="f" * 64,
)

ATTRS = LockedDist(
    name="attrs",
    version="26.1.0",
    filename="attrs-26.1.0-py3-none-any.whl",
    url="https://files.pythonhosted.org/packages/64/b4/17d4b0b2a2dc85a6df63d1157e028ed19f90d4cd97c36717afef2bc2f395/attrs-26.1.0-py3-none-any.whl",
    sha256="c647aa4a12dfbad9333ca4e71fe62ddc36f4e63b2d260a37a8b83d2f043ac309",
    size=67548,
)
HATCHLING = LockedDist(
    name="hatchling",
    version="1.27.0",
    filename="hatchling-1.27.0-py3-none-any.whl",
    url="https://example.invalid/hatchling-1.27.0-py3-none-any.whl",
    sha256="a" * 64,
)
SDIST_ONLY = LockedDist(
    name="oldpkg",
    version="0.1",
    filename="oldpkg-0.1.tar.gz",
    url="https://example.invalid/oldpkg-0.1.tar.gz",
    sha256="b" * 64,
    kind=DistKind.SDIST,
    build_requires=(
        LockedDist(
            "setuptools",
            "80.0",
            "setuptools-80.0-py3-none-any.whl",
            "https://example.invalid/s.whl",
            "c" * 64,
        ),
    ),
)


def _format(name: str) -> PackageFormat:
    found = find_format(name)
    assert found is not None, name
    return found


def spec(
    name: str = "py312",
    fmt: str = "wheel",
    *,
    format_count: int = 1,
    commands: tuple[Command, ...] = (),
    **config: object,
) -> EnvSpec:
    return EnvSpec(
        name=name,
        format=_format(fmt),
        factors=tuple(name.split("-")),
        python="py312",
        default=True,
        config=EnvConfig(commands=commands, **config),  # type: ignore[arg-type]
        format_count=format_count,
    )


def locked(env: EnvSpec | None = None, *, dists: tuple[LockedDist, ...] = (ATTRS,)) -> LockedEnv:
    return LockedEnv(
        spec=env or spec(), interpreter=PY312, dists=dists, build_dists=(HATCHLING,), lock_key="k"
    )
