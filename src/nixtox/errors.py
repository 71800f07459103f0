"""One exception root for everything nixtox reports to a user.

A ``NixtoxError`` is a user-facing problem: the CLI prints it as one ``error:`` line and exits non-zero.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

import click

__all__ = [
    "BuildError",
    "ConfigError",
    "EnvSelectionError",
    "InterpreterNotFound",
    "LockError",
    "NixError",
    "NixtoxError",
]


class NixtoxError(click.ClickException):
    """Root of every error nixtox reports as a single line."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message

    def show(self, file: object = None) -> None:
        click.secho(f"error: {self.format_message()}", err=True, fg="red")


class ConfigError(NixtoxError):
    """A configuration file, section or key is wrong. The message names the file and the key."""


class EnvSelectionError(NixtoxError):
    """``-e``/``-m``/``-f`` named something that does not exist."""


class InterpreterNotFound(NixtoxError):
    """No provider could satisfy an interpreter request."""


class LockError(NixtoxError):
    """Requirements could not be resolved, or a lock is stale or tampered with."""


class NixError(NixtoxError):
    """Nix is missing or a Nix call failed for a reason that is not a build failure."""


class BuildError(NixtoxError):
    """A derivation failed to build (a build backend failed, a fetch hash mismatched, ...)."""
