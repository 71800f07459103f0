"""Render stage: LockedEnv -> a Nix file per environment (jinja2, deterministic)."""

from __future__ import annotations

from nixtox.render._render import (
    EnvInputs,
    nix_library_hash,
    nix_library_path,
    nix_path,
    nix_string,
    python_expr,
    render_env,
    source_expr,
    source_files_nix,
    template_env,
    write_default_nix,
    write_env_file,
    write_work_file,
)

__all__ = [
    "EnvInputs",
    "nix_library_hash",
    "nix_library_path",
    "nix_path",
    "nix_string",
    "python_expr",
    "render_env",
    "source_expr",
    "source_files_nix",
    "template_env",
    "write_default_nix",
    "write_env_file",
    "write_work_file",
]
