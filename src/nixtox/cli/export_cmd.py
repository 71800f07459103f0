"""``nixtox export``: write the selected envs as a self-contained Nix file a project commits."""

from __future__ import annotations

import os
from pathlib import Path

import click

from nixtox.cli._options import Output, Target, selection_options
from nixtox.export import DEFAULT_OUTPUT, ExportOptions, export_envs, export_kind
from nixtox.session import NotifyOnly

__all__ = ["export_cmd"]


@click.command("export")
@selection_options
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="the Nix file to write (relative to the project root); the library copy goes beside it",
)
@click.option("--locked", is_flag=True, help="fail when nixtox.lock is missing or stale instead of relocking")
@click.option(
    "--kind", "kind", metavar="KIND", help="build this env kind with Nix and write its output (oci: an image)"
)
@click.option("--oci", "oci", is_flag=True, help="an OCI image archive of the env (same as --kind oci)")
def export_cmd(
    *,
    target: Target,
    output: Output,
    output_path: Path,
    locked: bool,
    kind: str | None,
    oci: bool,
) -> None:
    """Write the selected envs (default: env_list) as one Nix file usable without nixtox.

    The file exposes { devShells, packages, checks } per env, for a flake.nix:
    `import ./nix/nixtox-envs.nix { system = "x86_64-linux"; }`. With --oci (or --kind KIND) build that
    kind of each env instead: `nixtox export --oci -e py312 -o img.tar` writes an image archive that
    `docker load`, `podman load` and `skopeo inspect oci-archive:img.tar` accept.
    """
    options = ExportOptions(
        path=target.root,
        config_file=target.config_file,
        selection=target.selection,
        output=output_path,
        locked=locked,
        expand=target.expand,
    )
    if oci or kind:
        if oci and kind and kind != "oci":
            raise click.UsageError("--oci and --kind name different kinds; give one")
        events = NotifyOnly(output.notice)
        for key, path in export_kind(options, kind or "oci", events=events).items():
            click.echo(f"{key}: wrote {path}")
        return
    result = export_envs(options)
    for label, reason in result.skipped.items():
        output.warn(f"{label}: skipped: {reason}")
    for label, keys in result.from_environment.items():
        note = "take values from environment variables ({env:...}); exported with their defaults instead"
        output.warn(f"{label}: {', '.join(keys)} {note}")
    for key in result.fallbacks:
        note = "editable envs are exported as wheel envs (pure evaluation has no working tree)"
        output.warn(f"{key}: {note}")
    if result.ignored:
        first, rule = next(iter(result.ignored.items()))
        where = os.path.relpath(result.file.parent)
        output.warn(
            f"git ignores {len(result.ignored)} of the written files ({first}: {rule}), and a flake sees "
            f"only the files git tracks: change that rule, or `git add -f {where}`"
        )
    click.echo(f"wrote {result.file} ({', '.join(result.envs)}) and the Nix library in {result.library}")
