"""The ``oci`` env kind: an OCI image of an env, built by a Nix derivation without a container engine.

An in-tree plugin that uses only nixtox's public plugin API (``nixtox.plugins``: ``hookimpl``,
``EnvKind``) and the public Nix library (``lib.toxCommands``): proof that an env kind needs nothing
else. ``nixtox export --oci -e py312 -o img.tar`` builds it. The archive holds the env's closure, the
project source at ``/src`` and a runner at ``/nixtox``; it is an OCI image layout (``skopeo``,
``podman load``) that also carries Docker's ``manifest.json`` (``docker load``). Running it runs the env's
commands with tox's semantics; arguments given to the container replace them with one command.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nixtox.plugins import EnvKind, hookimpl

__all__ = ["OCI", "nixtox_env_kinds"]

_HERE = Path(__file__).parent

OCI = EnvKind(
    "oci",
    "an OCI image archive of the env, its closure and the project (`nixtox export --oci`)",
    (_HERE / "kind.nix.j2").read_text(encoding="utf-8"),
    files=_HERE / "nix",
    output="file",
)


@hookimpl
def nixtox_env_kinds() -> Sequence[EnvKind]:
    return (OCI,)
