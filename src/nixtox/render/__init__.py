"""Render stage: a LockedEnv -> the Nix attribute that builds it (templates calling the library in nix/)."""

from __future__ import annotations

from nixtox.render._env import (
    EXPORTED,
    IN_WORK_DIR,
    Placement,
    env_text,
    render_env,
    source_expr,
    source_files_nix,
)
from nixtox.render._library import nix_library_hash, nix_library_path, template_env, templates_hash
from nixtox.render._nix import nix_path, nix_string, python_expr
from nixtox.render._workdir import write_default_nix, write_env_file, write_work_file

__all__ = [
    "EXPORTED",
    "IN_WORK_DIR",
    "Placement",
    "env_text",
    "nix_library_hash",
    "nix_library_path",
    "nix_path",
    "nix_string",
    "python_expr",
    "render_env",
    "source_expr",
    "source_files_nix",
    "template_env",
    "templates_hash",
    "write_default_nix",
    "write_env_file",
    "write_work_file",
]
