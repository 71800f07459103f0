"""Hook specifications of the ``nixtox`` plugin project (entry-point group ``nixtox``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from nixtox.model import EnvSpec, RealisedEnv
    from nixtox.plugins._formats import PackageFormat
    from nixtox.plugins._kinds import EnvKind

hookspec = pluggy.HookspecMarker("nixtox")
hookimpl = pluggy.HookimplMarker("nixtox")


@hookspec
def nixtox_package_formats() -> Sequence[PackageFormat]:  # type: ignore[empty-body]
    """Return package formats this plugin provides (``wheel``, ``sdist``, ... are built-in plugins)."""


@hookspec
def nixtox_env_kinds() -> Sequence[EnvKind]:  # type: ignore[empty-body]
    """Return env kinds this plugin provides (``shell`` and ``check`` are built-in plugins)."""


@hookspec(firstresult=True)
def nixtox_env_render(spec: EnvSpec, default: str) -> str | None:
    """Return a replacement for the rendered Nix file of one env (``default``), or None to keep it."""


@hookspec
def nixtox_env_updated(spec: EnvSpec, realised: RealisedEnv) -> None:
    """Called after an environment was (re)built, i.e. its store path changed."""
