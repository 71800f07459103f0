"""Package formats: how the project's own package enters an environment, one plugin object each.

A ``PackageFormat`` holds everything nixtox needs to know about a format, so adding one touches the
plugin and its test only:

* its names (``name`` and the tox ``package`` values that mean it, ``aliases``) and config validation
  (``validate_packagedef``);
* its lock inputs: ``build_requirements`` (what the isolated build environment holds);
* its Nix rendering: ``template``, a jinja template of the package expression (see ``PackageContext``
  for the values it sees), whose builder is whatever that expression calls (``lib.buildDist`` for the
  built-ins);
* what the package depends on (``depends_on``: the source tree, only the metadata files, nothing), which
  decides what changes its fingerprint, and how a pure (flake) export builds it (``export_as``).

The built-ins below register through the same ``nixtox_package_formats`` hook as a plugin's formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nixtox.plugins._spec import hookimpl

if TYPE_CHECKING:
    from nixtox.model import PackageDef

__all__ = ["BUILTIN_FORMATS", "INSTALLPKG_FORMAT", "BuiltinFormats", "PackageContext", "PackageFormat"]

_TEMPLATES = Path(__file__).parent / "templates"

DependsOn = Literal["source", "metadata", "nothing"]


@dataclass(frozen=True)
class PackageContext:
    """The values a format's template sees (``{{ pname }}``, ``{{ source }}`` ...).

    Plain values are quoted by the template (``{{ pname | nix }}``); ``source``, ``python`` and
    ``build_requires`` are Nix expressions already.
    """

    pname: str
    #: Nix expression of the project source (``lib.projectSource {...}``).
    source: str
    #: Nix expression of the build interpreter attrset.
    python: str
    #: Nix list expression of the build requirement wheels.
    build_requires: str
    #: PEP 517 config settings, in order.
    config_settings: tuple[tuple[str, str], ...]
    #: the project root (for a format that builds from the live tree, such as editable).
    project_root: str
    #: hash of the project's metadata files (``nixtox.source.metadata_hash``).
    metadata_hash: str
    #: Nix attrset expression of the project's version from version control, for ``buildDist``'s
    #: ``vcsVersion`` (``{ version = "1.2.dev3+g5e1f"; env = { SETUPTOOLS_SCM_PRETEND_VERSION = ...; };
    #: pkgInfo = false; }``); "" when the version does not come from version control (no attribute then).
    vcs_version: str = ""


@dataclass(frozen=True)
class PackageFormat:
    """One way to put the project's package into an environment."""

    name: str
    description: str
    #: jinja template of a Nix expression evaluating to a derivation (or path) whose output holds one
    #: ``.whl``, installed into the env like every other wheel; None: the env gets no package.
    template: str | None
    #: other spellings that mean this format (tox ``package`` values such as ``sdist-wheel``).
    aliases: tuple[str, ...] = ()
    #: what the package derivation depends on, so what a fingerprint must follow.
    depends_on: DependsOn = "source"
    #: the format a pure (flake) export builds instead; None: this one.
    export_as: str | None = None
    #: build requirements some backends ask for from ``get_requires_for_build_*`` for this format,
    #: as (backend, requirements) pairs: nixtox pins the build environment before any hook runs, so it
    #: adds them up front.
    dynamic_build_requires: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def installs(self) -> bool:
        return self.template is not None

    def build_requirements(
        self, declared: Sequence[str], backend: str, packagedef: PackageDef | None
    ) -> tuple[str, ...]:
        """The isolated build environment: ``[build-system] requires``, the packagedef's additions and
        the backend's dynamic requirements for this format."""
        if not self.installs:
            return ()
        extra = packagedef.build_requires if packagedef else ()
        dynamic = dict(self.dynamic_build_requires).get(backend, ())
        return tuple(dict.fromkeys((*declared, *extra, *dynamic)))

    def validate_packagedef(self) -> str | None:
        """Why a ``[packagedef:NAME]`` may not use this format (None: it may)."""
        return None if self.installs else "a packagedef builds a package; this format installs none"


def _template(name: str) -> str:
    return (_TEMPLATES / f"{name}.nix.j2").read_text(encoding="utf-8")


BUILTIN_FORMATS = (
    PackageFormat("wheel", "a wheel built from the source tree", _template("wheel")),
    PackageFormat(
        "sdist",
        "an sdist built from the tree, then a wheel built from that sdist",
        _template("sdist"),
        aliases=("sdist-wheel",),
    ),
    PackageFormat(
        "editable",
        "a PEP 660 editable install pointing at the working tree",
        _template("editable"),
        aliases=("editable-legacy",),
        depends_on="metadata",
        export_as="wheel",
        dynamic_build_requires=(("hatchling.build", ("editables~=0.3",)), ("pdm.backend", ("editables",))),
    ),
    PackageFormat(
        "skip",
        "dependencies only, no package",
        None,
        aliases=("deps-only", "deps_only", "none"),
        depends_on="nothing",
    ),
)


#: ``--installpkg PATH`` (tox's "external" package): every env that installs the package installs that
#: wheel or sdist instead of a build of the tree. The expand stage chooses it and adds the file to the
#: env's deps, so it is a requirement like any local file: the lock takes the package's dependencies from
#: the file's metadata (never the tree) and pins the file by its sha256 (a new file relocks), and an
#: sdist is built in Nix. It builds nothing of its own and follows no source; a config cannot name it
#: (a file is given on the command line only), so it is not among the registered formats.
INSTALLPKG_FORMAT = PackageFormat(
    "installpkg",
    "a given wheel or sdist (--installpkg PATH) instead of a build of the tree",
    None,
    depends_on="nothing",
)


class BuiltinFormats:
    """The built-in formats, registered through the same hook as any plugin's."""

    @staticmethod
    @hookimpl
    def nixtox_package_formats() -> Sequence[PackageFormat]:
        return BUILTIN_FORMATS
