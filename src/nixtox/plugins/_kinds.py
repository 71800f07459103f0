"""Env kinds: what an env can be built as, besides the venv every env is (the seeds' envdef, in Nix terms).

An ``EnvKind`` is a jinja template of a Nix expression over the env's venv (``{{ env }}``), its project
source and its commands (``KindContext``). The render stage writes the kinds a command asks for into the
env's file as ``kinds.<name>``; ``nixtox export --kind NAME`` builds one and copies its output out. The
built-ins (``shell`` for ``nix develop``, ``check`` for commands run inside a derivation) register
through the same ``nixtox_env_kinds`` hook as a plugin's kinds; the OCI image kind (``nixtox.plugins.oci``)
is an in-tree plugin that uses only this public API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nixtox.plugins._spec import hookimpl

__all__ = ["BUILTIN_KINDS", "BuiltinKinds", "EnvKind", "KindCommand", "KindContext"]

_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class KindCommand:
    """One command as a kind's derivation runs it. ``@projectRoot@`` and ``@envDir@`` in ``argv`` stand
    for the project copy and the env directory the derivation makes (host paths would not exist there)."""

    phase: str
    argv: tuple[str, ...]
    ignore_exit_code: bool = False
    invert_exit_code: bool = False


@dataclass(frozen=True)
class KindContext:
    """What a kind's template sees. ``env``, ``src`` and ``files`` are Nix expressions; the rest are
    plain values the template quotes (``{{ name | nix }}``)."""

    #: the env's venv derivation
    env: str
    #: the project source (a store path)
    src: str
    #: the kind's own files (``EnvKind.files`` as a store path), or "null"
    files: str
    name: str
    key: str
    label: str
    commands: tuple[KindCommand, ...]
    #: set_env of the env, with host paths replaced by the placeholders
    set_env: tuple[tuple[str, str], ...]
    #: the commands' working directory relative to the project ("" = its root)
    change_dir: str
    allowlist_externals: tuple[str, ...] = ()
    ignore_errors: bool = False
    #: tox's ``commands_retry``: more attempts of a failing command
    commands_retry: int = 0


@dataclass(frozen=True)
class EnvKind:
    name: str
    description: str
    template: str
    #: a directory of Nix files and builder scripts the template reaches as ``{{ files }}``
    files: Path | None = None
    #: what the derivation's output is: one file (an image archive) or a directory
    output: Literal["file", "directory"] = "directory"
    #: rendered into every env file (the shell: `nix develop -f .nixtox/default.nix ENV` works for all);
    #: other kinds only when a command asks for them, so a command edit never touches a host run's env
    always: bool = False
    #: the template reads the env's commands, set_env and change_dir (the shell does not: an edited
    #: command then changes no fingerprint of an env without such a kind)
    uses_commands: bool = True


def _template(name: str) -> str:
    return (_TEMPLATES / f"kind-{name}.nix.j2").read_text(encoding="utf-8")


BUILTIN_KINDS = (
    EnvKind(
        "shell",
        "a shell for `nix develop` and `nix-shell`",
        _template("shell"),
        always=True,
        uses_commands=False,
    ),
    EnvKind("check", "the env's commands run inside a derivation (`nix flake check`)", _template("check")),
)


class BuiltinKinds:
    @staticmethod
    @hookimpl
    def nixtox_env_kinds() -> Sequence[EnvKind]:
        return BUILTIN_KINDS
