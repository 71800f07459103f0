"""``nixtox export``: one committed Nix file holding the selected envs, usable without nixtox.

The file embeds every env exactly as nixtox renders it (lock pins inline), through the same render
stage with the ``EXPORTED`` placement: the project source is the file's ``src`` (a path relative to the
file, filtered like nixtox's; no git file list: a flake already holds only tracked files), nixpkgs
interpreters come from its ``pkgs`` argument when given, and a format with ``export_as`` (editable, which
points at a working tree that pure evaluation cannot see) is built as that format. It imports a copy of
the Nix library written beside it (``nixtox-lib/``): the library brings its builder scripts into the
store with ``builtins.path``, whose store path depends only on the name and the bytes, so the copy gives
the same ``.drv`` hashes as nixtox's own ``nix/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from nixtox import __version__
from nixtox._files import write_atomically
from nixtox._process import run_process
from nixtox.config import ExpandOptions, expand_project, load_config
from nixtox.errors import NixtoxError
from nixtox.lock import LockPolicy, lock_stage
from nixtox.model import Envs, LockedEnv, Project, RenderedEnv, Status
from nixtox.plugins import EnvKind, env_kinds
from nixtox.pyproject import read_pyproject
from nixtox.realise import build_kind
from nixtox.render import EXPORTED, env_text, nix_library_path, nix_string, render_env, template_env
from nixtox.select import Selection, select_envs
from nixtox.session import RENDER, Events, NotifyOnly, RunOptions, Session, execute
from nixtox.source import SourceTree, scan_source
from nixtox.state import locked_work_dir

__all__ = [
    "DEFAULT_OUTPUT",
    "LIBRARY_DIR",
    "LIBRARY_GITIGNORE",
    "ExportOptions",
    "ExportResult",
    "export_envs",
    "export_kind",
    "git_ignored",
]

DEFAULT_OUTPUT = Path("nix/nixtox-envs.nix")
#: the library copy's directory, next to the exported file
LIBRARY_DIR = "nixtox-lib"

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
    #: what the command line decides about the project (``-x``, ``--workdir`` ...)
    expand: ExpandOptions = field(default_factory=ExpandOptions)


@dataclass(frozen=True)
class ExportResult:
    file: Path
    library: Path
    #: the exported env keys (attribute names), in selection order
    envs: tuple[str, ...]
    #: env keys whose format is exported as another one (editable envs exported as wheel envs)
    fallbacks: tuple[str, ...] = ()
    #: env label -> why it was left out (skipped missing interpreter)
    skipped: dict[str, str] = field(default_factory=dict)
    #: env label -> settings whose values come from the exporter's environment (exported without them)
    from_environment: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: written files that git still ignores (a rule on a directory above them), by path -> the rule
    #: (``.gitignore:3:nix/``): a flake would not see them
    ignored: dict[str, str] = field(default_factory=dict)


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


def _body(text: str) -> str:
    """An env file without its own header comment, indented for the export's ``envs`` set."""
    body = text.splitlines()
    while body and body[0].startswith("#"):
        body.pop(0)
    return "\n".join(f"      {line}" if line else "" for line in body)


#: the library copy's own ``.gitignore``: a deeper ``.gitignore`` wins over the project's, so a rule of
#: the project that matches a library path (``lib``, ``*.py``) cannot keep it out of git and so out of a
#: flake, which sees only the files git tracks
LIBRARY_GITIGNORE = (
    "# written by nixtox export: the library copy is committed whole, whatever other .gitignore files say\n"
    "!*\n"
)


def _copy_library(dest: Path) -> None:
    """Mirror nixtox's Nix library into ``dest``: same bytes, same executable bits, and the copy's
    ``.gitignore``; nothing else."""
    source = nix_library_path()
    ignore = dest / ".gitignore"
    dest.mkdir(parents=True, exist_ok=True)
    if not ignore.is_file() or ignore.read_text(encoding="utf-8") != LIBRARY_GITIGNORE:
        ignore.write_text(LIBRARY_GITIGNORE, encoding="utf-8")
    wanted: set[Path] = {Path(".gitignore")}
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


def _check_failures(envs: Envs[LockedEnv] | Envs[RenderedEnv]) -> dict[str, str]:
    errors = {r.spec.label: r.reason for r in envs.ended.values() if r.status == Status.ERROR}
    if errors:
        detail = "; ".join(f"{label}: {reason}" for label, reason in errors.items())
        msg = f"cannot export: {detail}"
        raise ExportError(msg)
    return {r.spec.label: r.reason for r in envs.ended.values()}


def render_export(
    project: Project,
    locked: tuple[LockedEnv, ...] | list[LockedEnv],
    *,
    output: Path,
    project_name: str,
    tree: SourceTree | None = None,
) -> tuple[str, tuple[str, ...]]:
    """The exported file's text and the keys of envs exported in another format."""
    root = project.core.root
    tree = tree or scan_source(root)
    envs = []
    fallbacks = []
    for env in locked:
        rendered = render_env(
            env, root=root, project_name=project_name, tree=tree, placement=EXPORTED, kinds=("check",)
        )
        envs.append({"key": env.spec.key, "text": _body(env_text(rendered))})
        if env.spec.format.export_as is not None:
            fallbacks.append(env.spec.key)
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
            source_path=relative_nix_path(root, output.parent),
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
    raw = load_config(options.path, config_file=options.config_file)
    project = expand_project(raw, environ=EXPORT_ENVIRON, given=options.expand)
    from_environment = _environment_dependent(project, expand_project(raw, given=options.expand))
    root = project.core.root
    output = options.output if options.output.is_absolute() else root / options.output
    output = output.resolve().parent / output.name
    if output.suffix != ".nix":
        msg = f"the export must be a .nix file, got {output}"
        raise ExportError(msg)
    specs = tuple(select_envs(project, options.selection))
    locked = lock_stage(Envs(project, specs, specs), LockPolicy(locked=options.locked))
    skipped = _check_failures(locked)
    if not locked.live:
        msg = "nothing to export: every selected env was skipped"
        raise ExportError(msg)
    name = read_pyproject(root).name or root.name
    text, fallbacks = render_export(project, locked.live, output=output, project_name=name)
    library = output.parent / LIBRARY_DIR
    _copy_library(library)
    write_atomically(output, text)
    exported = {e.spec.label for e in locked.live}
    return ExportResult(
        file=output,
        library=library,
        envs=tuple(e.spec.key for e in locked.live),
        fallbacks=fallbacks,
        skipped=skipped,
        from_environment={k: v for k, v in from_environment.items() if k in exported},
        ignored=git_ignored([output, *sorted(p for p in library.rglob("*") if p.is_file())], root),
    )


def git_ignored(paths: Sequence[Path], root: Path) -> dict[str, str]:
    """Which of ``paths`` git ignores in the checkout at ``root`` (none outside one), each with the rule
    (``source:line:pattern``). Tracked files never are; a ``!`` rule's match is not ignored."""
    if shutil.which("git") is None:
        return {}
    listed = "\n".join(os.path.relpath(path, root) for path in paths) + "\n"
    proc = run_process(["git", "check-ignore", "-v", "--stdin"], cwd=root, input_text=listed)
    if proc.exit_code not in (0, 1):  # 128: not a git checkout
        return {}
    ignored = {}
    for line in proc.stdout.splitlines():
        rule, _, path = line.partition("\t")
        if not rule.split(":", 2)[-1].startswith("!"):
            ignored[path] = rule
    return ignored


def _kind_outputs(keys: Sequence[str], kind: EnvKind, output: Path | None) -> dict[str, Path]:
    if output is not None:
        if len(keys) != 1:
            msg = (
                f"-o names one file, but {len(keys)} envs are selected ({', '.join(keys)}); pick one with -e"
            )
            raise ExportError(msg)
        return {keys[0]: output}
    suffix = ".tar" if kind.output == "file" else ""
    return {key: Path(f"nixtox-{key}-{kind.name}{suffix}") for key in keys}


def export_kind(options: ExportOptions, kind_name: str, *, events: Events | None = None) -> dict[str, Path]:
    """Build the env kind ``kind_name`` (``oci``: an image archive) of each selected env with Nix and
    copy its output out: to ``options.output`` (one env), else ``nixtox-<key>-<kind>[.tar]``. Returns
    the written paths by env key. Like ``export_envs``, the config is read without the caller's
    environment, so no ``{env:X}`` value of the exporting shell ends up in the image."""
    kind = env_kinds().get(kind_name)
    if kind is None:
        msg = f"unknown env kind {kind_name!r} (known: {', '.join(env_kinds())})"
        raise ExportError(msg)
    run_options = RunOptions(
        path=options.path, config_file=options.config_file, selection=options.selection,
        lock=LockPolicy(locked=options.locked), kinds=(kind.name,), environ=EXPORT_ENVIRON,
        expand=options.expand,
    )  # fmt: skip
    session = Session(run_options, events or NotifyOnly())
    rendered = cast("Envs[RenderedEnv]", execute(RENDER, session))
    _check_failures(rendered)
    if not rendered.live:
        raise ExportError("nothing to export: every selected env was skipped")
    given = options.output if options.output != DEFAULT_OUTPUT else None
    targets = _kind_outputs([env.spec.key for env in rendered.live], kind, given)
    work_dir = rendered.project.core.work_dir
    with locked_work_dir(work_dir):
        built = build_kind(
            rendered.live, kind.name, work_dir=work_dir, nix=session.cache(rendered).reporting,
            shared_files=rendered.work_files, keys=[spec.key for spec in rendered.project.envs],
        )  # fmt: skip
    errors = {key: out.message for key, out in built.items() if isinstance(out, NixtoxError)}
    if errors:
        detail = "; ".join(f"{key}: {reason}" for key, reason in errors.items())
        raise ExportError(f"cannot build the {kind.name} of {detail}")
    written = {}
    for key, out in built.items():
        assert isinstance(out, Path)
        target = targets[key] if targets[key].is_absolute() else Path.cwd() / targets[key]
        _copy_out(out, target)
        written[key] = target
    return written


def _copy_out(store_path: Path, target: Path) -> None:
    """A store output copied out atomically, writable by its owner (a file or a directory tree)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.nixtox-tmp")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    if store_path.is_dir():
        shutil.copytree(store_path, tmp, symlinks=True)
        for dirpath, _dirnames, _filenames in os.walk(tmp):
            os.chmod(dirpath, 0o755)
    else:
        shutil.copyfile(store_path, tmp)
        tmp.chmod(0o644)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(tmp, target)
