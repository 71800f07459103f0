"""``nixtox export``: one committed Nix file holding the selected envs, usable without nixtox.

The file embeds every env exactly as nixtox renders it (lock pins inline) and imports a copy of the
Nix library written beside it (``nixtox-lib/``). The copy is what keeps the derivations identical to
nixtox's own: the library brings its builder scripts into the store with ``builtins.path``, whose
store path depends only on the name and the bytes, so the same builders give the same store path,
and so the same ``.drv`` hashes, whether they come from nixtox's ``nix/`` or from the copy.

What differs from ``.nixtox/nix/<env>.nix``: the project source is a path relative to the file
(``../.``) filtered like nixtox's (no git file list: a flake already holds only tracked files), and
an editable env falls back to a wheel (an editable install points at a working tree, which pure
evaluation cannot see).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixtox import __version__
from nixtox._files import write_atomically
from nixtox.config import load_project
from nixtox.errors import NixtoxError
from nixtox.model import Command, EnvResult, EnvSpec, LockedEnv, Project
from nixtox.pyproject import read_pyproject
from nixtox.render import nix_library_path, nix_string, python_expr, render_env, source_expr, template_env
from nixtox.select import Selection, select_envs
from nixtox.session import lock_selected
from nixtox.source import SourceTree, scan_source

__all__ = ["DEFAULT_OUTPUT", "LIBRARY_DIR", "ExportOptions", "ExportResult", "export_envs"]

DEFAULT_OUTPUT = Path("nix/nixtox-envs.nix")
#: the library copy's directory, next to the exported file
LIBRARY_DIR = "nixtox-lib"

_PHASES = ("commands_pre", "commands", "commands_post")
_NIX_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._+-]+")


class ExportError(NixtoxError):
    """The export cannot be written (an env failed to lock, the output is unusable)."""


@dataclass(frozen=True)
class ExportOptions:
    path: Path | None = None
    config_file: Path | None = None
    selection: Selection = field(default_factory=Selection)
    #: the Nix file to write; relative paths are relative to the project root
    output: Path = DEFAULT_OUTPUT
    locked: bool = False


@dataclass(frozen=True)
class ExportResult:
    file: Path
    library: Path
    #: the exported env keys (attribute names), in selection order
    envs: tuple[str, ...]
    #: editable envs exported as wheel envs
    fallbacks: tuple[str, ...] = ()
    #: env label -> why it was left out (skipped missing interpreter)
    skipped: dict[str, str] = field(default_factory=dict)
    #: env label -> settings whose values come from the exporter's environment (exported without them)
    from_environment: dict[str, tuple[str, ...]] = field(default_factory=dict)


def relative_nix_path(target: Path, start: Path) -> str:
    """A Nix path expression for ``target`` relative to the directory ``start`` (``../.``, ``./.``)."""
    rel = os.path.relpath(target, start)
    parts = [] if rel == "." else rel.split(os.sep)
    if all(_NIX_PATH_SEGMENT.fullmatch(p) for p in parts):
        if not parts:
            return "./."
        if all(p == ".." for p in parts):
            return "/".join(parts) + ("/." if len(parts) == 1 else "")
        return "./" + "/".join(parts)
    return f"(./. + {nix_string('/' + '/'.join(parts))})"


def _placeholders(value: str, project: Project, spec: EnvSpec) -> str:
    """Host paths in commands become placeholders mkCheck fills in (env dir first: it is inside root)."""
    root = project.core.root
    env_dir = str(root / ".nixtox" / "envs" / spec.name)
    return value.replace(env_dir, "@envDir@").replace(str(root), "@projectRoot@")


def _commands_view(project: Project, spec: EnvSpec) -> list[dict[str, Any]]:
    config = spec.config
    by_phase: dict[str, tuple[Command, ...]] = {
        "commands_pre": config.commands_pre,
        "commands": config.commands,
        "commands_post": config.commands_post,
    }
    return [
        {
            "phase": phase,
            "argv": [_placeholders(a, project, spec) for a in command.argv],
            "ignore": command.ignore_exit_code,
            "invert": command.invert_exit_code,
        }
        for phase in _PHASES
        for command in by_phase[phase]
    ]


def _change_dir(project: Project, spec: EnvSpec) -> str:
    root = project.core.root
    target = (root / spec.config.change_dir).resolve()
    try:
        rel = target.relative_to(root.resolve())
    except ValueError:
        return ""
    return "" if str(rel) == "." else rel.as_posix()


def _export_python(locked: LockedEnv) -> tuple[str, str] | None:
    """(nixtox's python expression, the export's) for a nixpkgs interpreter: ``pkgs`` wins when given."""
    interpreter = locked.interpreter
    if interpreter.provider != "nixpkgs" or not interpreter.nix_attr:
        return None
    original = python_expr(interpreter)
    version = ".".join(map(str, interpreter.version))
    fallback = (
        f"import {nix_string(interpreter.nixpkgs)} {{ inherit system; }}"
        if interpreter.nixpkgs
        else ('throw "nixtox export: pass pkgs (a nixpkgs) for the nixpkgs interpreters"')
    )
    exported = (
        f"(let drv = (if pkgs != null then pkgs else {fallback}).{interpreter.nix_attr}; in"
        f' {{ executable = "${{drv}}" + {nix_string("/bin/" + interpreter.executable.name)};'
        f" version = {nix_string(version)}; fingerprint = {nix_string(interpreter.fingerprint)}; }})"
    )
    return original, exported


def _env_text(locked: LockedEnv, *, root: Path, project_name: str, tree: SourceTree) -> str:
    """The env's rendered file, with the source (and nixpkgs interpreters) made relocatable."""
    text = render_env(locked, root=root, project_name=project_name, tree=tree).text
    text = text.replace(source_expr(tree), "src")
    swap = _export_python(locked)
    if swap is not None:
        text = text.replace(*swap)
    body = text.splitlines()
    while body and body[0].startswith("#"):  # the env file's own header: the export has one
        body.pop(0)
    return "\n".join(f"      {line}" if line else "" for line in body)


def _wheel_instead(locked: LockedEnv) -> LockedEnv:
    spec = dataclasses.replace(locked.spec, package_format="wheel")
    return dataclasses.replace(locked, spec=spec)


def _copy_library(dest: Path) -> None:
    """Mirror nixtox's Nix library into ``dest``: same bytes, same executable bits, nothing else."""
    source = nix_library_path()
    wanted: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".pyc"):
                continue
            src = Path(dirpath, name)
            rel = src.relative_to(source)
            wanted.add(rel)
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_bytes() != src.read_bytes():
                shutil.copyfile(src, target)
            target.chmod(0o755 if os.access(src, os.X_OK) else 0o644)
    for dirpath, dirnames, filenames in os.walk(dest, topdown=False):
        for name in filenames:
            path = Path(dirpath, name)
            if path.relative_to(dest) not in wanted:
                path.unlink()
        for name in dirnames:
            path = Path(dirpath, name)
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _check_failures(done: dict[str, EnvResult]) -> dict[str, str]:
    errors = {r.spec.label: r.reason for r in done.values() if r.status == "error"}
    if errors:
        detail = "; ".join(f"{label}: {reason}" for label, reason in errors.items())
        msg = f"cannot export: {detail}"
        raise ExportError(msg)
    return {r.spec.label: r.reason for r in done.values()}


def render_export(
    project: Project,
    locked: Sequence[LockedEnv],
    *,
    output: Path,
    project_name: str,
    tree: SourceTree | None = None,
) -> tuple[str, tuple[str, ...]]:
    """The exported file's text and the keys of editable envs exported as wheels."""
    root = project.core.root
    tree = tree or scan_source(root)
    out_dir = output.parent
    envs: list[dict[str, Any]] = []
    fallbacks: list[str] = []
    for env in locked:
        spec = env.spec
        if spec.package_format == "editable" and not spec.config.skip_install:
            fallbacks.append(spec.key)
            env = _wheel_instead(env)  # noqa: PLW2901 - the env as exported
        envs.append(
            {
                "key": spec.key,
                "name": spec.name,
                "text": _env_text(env, root=root, project_name=project_name, tree=tree),
                "change_dir": _change_dir(project, spec),
                "set_env": [(k, _placeholders(v, project, spec)) for k, v in spec.config.set_env],
                "commands": _commands_view(project, spec),
            }
        )
    notes = [
        f"{key}: editable in the config, exported as a wheel env (an editable install points at a"
        " working tree, which pure flake evaluation cannot see)"
        for key in fallbacks
    ]
    text = (
        template_env()
        .get_template("export.nix.j2")
        .render(
            version=__version__,
            project=project_name,
            lib_dir=LIBRARY_DIR,
            from_root=output.relative_to(root).as_posix() if output.is_relative_to(root) else output.name,
            source_path=relative_nix_path(root, out_dir),
            notes=notes,
            envs=envs,
        )
    )
    return text, tuple(fallbacks)


#: all that ``{env:X}`` sees while exporting: nothing of the user's environment
EXPORT_ENVIRON: dict[str, str] = {}


def _environment_dependent(exported: Project, as_run: Project) -> dict[str, tuple[str, ...]]:
    """Per env label, the settings that differ when the user's environment variables are visible."""
    run_specs = {spec.key: spec for spec in as_run.envs}
    found: dict[str, tuple[str, ...]] = {}
    for spec in exported.envs:
        other = run_specs.get(spec.key)
        if other is None:
            continue
        keys = tuple(
            name
            for name in ("set_env", "commands_pre", "commands", "commands_post", "deps", "change_dir")
            if getattr(spec.config, name) != getattr(other.config, name)
        )
        if keys:
            found[spec.label] = keys
    return found


def export_envs(options: ExportOptions) -> ExportResult:
    """Lock the selected envs (no build) and write the exported file and the library copy.

    The config is read without the caller's environment variables: ``{env:X}`` takes its default, so a
    token in the exporting shell never lands in a committed file or a derivation, and the file does not
    depend on who exported it. Settings that would have differed are reported in ``from_environment``.
    """
    project = load_project(options.path, config_file=options.config_file, environ=EXPORT_ENVIRON)
    as_run = load_project(options.path, config_file=options.config_file)
    from_environment = _environment_dependent(project, as_run)
    root = project.core.root
    output = options.output if options.output.is_absolute() else root / options.output
    output = output.resolve().parent / output.name
    if output.suffix != ".nix":
        msg = f"the export must be a .nix file, got {output}"
        raise ExportError(msg)
    specs = select_envs(project, options.selection)
    done: dict[str, EnvResult] = {}
    locked = lock_selected(project, specs, done, {}, locked=options.locked)
    skipped = _check_failures(done)
    if not locked:
        msg = "nothing to export: every selected env was skipped"
        raise ExportError(msg)
    name = read_pyproject(root).name or root.name
    text, fallbacks = render_export(project, locked, output=output, project_name=name)
    library = output.parent / LIBRARY_DIR
    _copy_library(library)
    write_atomically(output, text)
    return ExportResult(
        file=output,
        library=library,
        envs=tuple(e.spec.key for e in locked),
        fallbacks=fallbacks,
        skipped=skipped,
        from_environment={k: v for k, v in from_environment.items() if k in {e.spec.label for e in locked}},
    )
