"""Package formats: how the project's own package enters an environment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nixtox.plugins._spec import hookimpl

__all__ = ["BuiltinFormats", "PackageContext", "PackageFormat"]


@dataclass(frozen=True)
class PackageContext:
    """What a format needs to write the Nix expression of the package (all values already Nix-quoted)."""

    pname: str
    #: Nix expression of the project source (``lib.projectSource {...}``).
    source: str
    #: Nix expression of the build interpreter attrset.
    python: str
    #: Nix list expression of the build requirement wheels.
    build_requires: str
    #: Nix attrset expression of PEP 517 config settings.
    config_settings: str
    #: the project root as a Nix string (for editable installs).
    project_root: str
    #: a Nix string holding the hash of the project's metadata files.
    metadata_hash: str


@dataclass(frozen=True)
class PackageFormat:
    """One way to put the project's package into an environment.

    ``render`` returns a Nix expression evaluating to a derivation whose output holds one ``.whl`` (it is
    installed into the env like every other wheel), or None when the env gets no package (``skip``).
    ``tracks_source``: the package depends on the whole source tree (wheel, sdist), so a source edit
    rebuilds it; False for editable (metadata only) and skip.
    """

    name: str
    description: str
    render: Callable[[PackageContext], str | None]
    tracks_source: bool = True
    tracks_metadata: bool = False


def _build_dist(nix_format: str) -> Callable[[PackageContext], str]:
    def render(ctx: PackageContext) -> str:
        return (
            f'lib.buildDist {{ pname = {ctx.pname}; src = {ctx.source}; format = "{nix_format}";'
            f" python = {ctx.python}; buildRequires = {ctx.build_requires};"
            f" configSettings = {ctx.config_settings}; }}"
        )

    return render


def _editable(ctx: PackageContext) -> str:
    return (
        f'lib.buildDist {{ pname = {ctx.pname}; src = null; format = "editable";'
        f" python = {ctx.python}; buildRequires = {ctx.build_requires};"
        f" configSettings = {ctx.config_settings}; projectRoot = {ctx.project_root};"
        f" metadataHash = {ctx.metadata_hash}; }}"
    )


BUILTIN = (
    PackageFormat("wheel", "a wheel built from the source tree", _build_dist("wheel")),
    PackageFormat(
        "sdist", "an sdist built from the tree, then a wheel built from that sdist", _build_dist("sdist")
    ),
    PackageFormat(
        "editable",
        "a PEP 660 editable install pointing at the working tree",
        _editable,
        tracks_source=False,
        tracks_metadata=True,
    ),
    PackageFormat("skip", "dependencies only, no package", lambda _ctx: None, tracks_source=False),
)


class BuiltinFormats:
    """The built-in formats, registered through the same hook as any plugin's."""

    @staticmethod
    @hookimpl
    def nixtox_package_formats() -> Sequence[PackageFormat]:
        return BUILTIN
