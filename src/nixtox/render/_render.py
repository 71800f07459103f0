from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nixtox import __version__
from nixtox._files import write_atomically
from nixtox.model import EnvSpec, Interpreter, LockedDist, LockedEnv, RenderedEnv
from nixtox.plugins import PackageContext, get_plugin_manager
from nixtox.plugins._manager import package_format
from nixtox.source import SourceTree, scan_source

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "EnvInputs",
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


def nix_string(value: str) -> str:
    """A Nix double-quoted string literal holding exactly ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def nix_path(path: Path | str) -> str:
    """A Nix path expression for an absolute path, safe for any characters in it."""
    return f"(/. + {nix_string(str(Path(path).resolve()))})"


def nix_library_path() -> Path:
    """``nix/`` of a source checkout, or ``nixtox/_nix`` inside an installed wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_nix", here.parent.parent / "nix"):
        if (candidate / "default.nix").is_file():
            return candidate
    raise FileNotFoundError(f"nixtox's Nix library is missing (looked in {here / '_nix'})")


@cache
def nix_library_hash() -> str:
    """Content hash of the Nix library: a new nixtox with a changed builder rebuilds every env."""
    root = nix_library_path()
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = Path(dirpath, name)
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


_TEMPLATES = Path(__file__).parent / "templates"


@cache
def template_env() -> jinja2.Environment:
    """The template environment, built on first use: a warm run renders nothing and never needs it."""
    import jinja2  # noqa: PLC0415 - deferred: costs more than the rest of a no-op run

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["nix"] = nix_string
    env.filters["nixpath"] = nix_path
    return env


@cache
def _templates_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(_TEMPLATES.glob("*.j2")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def python_expr(interpreter: Interpreter) -> str:
    """The ``python`` attrset the Nix library takes: executable, version, fingerprint."""
    version = ".".join(map(str, interpreter.version))
    fields = f"version = {nix_string(version)}; fingerprint = {nix_string(interpreter.fingerprint)};"
    if interpreter.provider == "nixpkgs" and interpreter.nix_attr:
        nixpkgs = nix_path(interpreter.nixpkgs) if interpreter.nixpkgs else "<nixpkgs>"
        binary = nix_string("/bin/" + interpreter.executable.name)
        return (
            f"(let drv = (import {nixpkgs} {{ }}).{interpreter.nix_attr}; in"
            f' {{ executable = "${{drv}}" + {binary}; {fields} }})'
        )
    return f"{{ executable = {nix_string(str(interpreter.executable))}; {fields} }}"


@dataclass(frozen=True)
class EnvInputs:
    """An env ready to render: the template values and the fingerprint of everything it depends on.

    The fingerprint hashes the template values, the templates and the Nix library rather than the
    rendered text, so the up-to-date check never runs jinja; ``text`` renders on first use.
    """

    rendered: RenderedEnv
    view: dict[str, Any]

    @cached_property
    def text(self) -> str:
        return _env_text(self.rendered.locked.spec, self.view)


def _env_text(spec: EnvSpec, view: dict[str, Any]) -> str:
    """The env file: the template rendered with ``view``, unless a plugin replaces it."""
    text = template_env().get_template("env.nix.j2").render(**view)
    override = get_plugin_manager().hook.nixtox_env_render(spec=spec, default=text)
    return text if override is None else str(override)


def _var(dist: LockedDist) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in f"{dist.name}_{dist.version}")
    return f"sdist_{safe}"


def _dist_view(dist: LockedDist) -> dict[str, object]:
    return {
        "name": dist.name,
        "filename": dist.filename,
        "url": dist.url,
        "sha256": dist.sha256,
        "var": _var(dist),
        "build_requires": [_dist_view(b) for b in dist.build_requires],
    }


def _dist_list(dists: tuple[LockedDist, ...]) -> str:
    items = " ".join(
        f"(fetch {{ filename = {nix_string(d.filename)}; url = {nix_string(d.url)};"
        f" sha256 = {nix_string(d.sha256)}; }})"
        for d in sorted(dists, key=lambda d: d.filename)
    )
    return f"[ {items} ]"


def source_expr(tree: SourceTree) -> str:
    """``lib.projectSource`` for the tree; with a git file list, exactly those files."""
    if tree.files is None:
        return f"(lib.projectSource {{ path = {nix_path(tree.root)}; }})"
    listed = "inherit (import ../source-files.nix) files dirs;"
    return f"(lib.projectSource {{ path = {nix_path(tree.root)}; {listed} }})"


def source_files_nix(tree: SourceTree) -> str:
    """``.nixtox/source-files.nix``: the files git lists, shared by every env file."""
    files = "\n".join(f"    {nix_string(f)}" for f in tree.files or ())
    dirs = "\n".join(f"    {nix_string(d)}" for d in tree.dirs)
    header = "# Generated by nixtox: the project files git lists. Do not edit.\n"
    return f"{header}{{\n  files = [\n{files}\n  ];\n  dirs = [\n{dirs}\n  ];\n}}\n"


def render_env(
    locked: LockedEnv, *, root: Path, project_name: str, tree: SourceTree | None = None
) -> EnvInputs:
    """Render one environment's Nix file and compute its fingerprint."""
    tree = tree or scan_source(root)
    spec = locked.spec
    fmt = package_format(spec.package_format, env=spec.label)
    python = python_expr(locked.interpreter)
    build_python = python_expr(locked.build_interpreter) if locked.build_interpreter else python
    settings = spec.packagedef.config_settings if spec.packagedef else ()
    context = PackageContext(
        pname=nix_string(project_name),
        source=source_expr(tree),
        python="buildPython",
        build_requires=_dist_list(locked.build_dists),
        config_settings="{ " + " ".join(f"{nix_string(k)} = {nix_string(v)};" for k, v in settings) + " }",
        project_root=nix_string(str(root)),
        metadata_hash=nix_string(tree.metadata_hash if fmt.tracks_metadata else ""),
    )
    package = None if spec.config.skip_install else fmt.render(context)
    wheels = sorted((d for d in locked.dists if d.kind == "wheel"), key=lambda d: d.filename)
    sdists = sorted((d for d in locked.dists if d.kind == "sdist"), key=lambda d: d.filename)
    view: dict[str, Any] = {
        "version": __version__,
        "label": spec.label,
        "python_request": spec.python or "default",
        "python_version": locked.interpreter.major_minor,
        "python": python,
        "build_python": build_python,
        "sdist_deps": [_dist_view(d) for d in sdists],
        "wheels": [_dist_view(d) for d in wheels],
        "package": package or "null",
        "has_package": package is not None,
        "env_name": f"nixtox-env-{spec.key}",
        "shell_name": f"nixtox-shell-{spec.key}",
    }
    inputs = {
        "view": view,
        "templates": _templates_hash(),
        "nix_library": nix_library_hash(),
        "source": tree.source_hash if fmt.tracks_source and package else "",
        "metadata": tree.metadata_hash if fmt.tracks_metadata and package else "",
    }
    if get_plugin_manager().hook.nixtox_env_render.get_hookimpls():
        inputs["text"] = _env_text(spec, view)  # a plugin may rewrite the file: only its text tells
    fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    return EnvInputs(RenderedEnv(locked=locked, attr=f"envs.{spec.key}", fingerprint=fingerprint), view)


def write_work_file(work_dir: Path, name: str, text: str) -> Path:
    path = work_dir / name
    write_atomically(path, text)
    return path


def write_env_file(work_dir: Path, key: str, text: str) -> Path:
    path = work_dir / "nix" / f"{key}.nix"
    write_atomically(path, text)
    return path


def write_default_nix(work_dir: Path) -> Path:
    """(Re)write ``default.nix`` joining every env file present under ``nix/``."""
    keys = sorted(p.stem for p in (work_dir / "nix").glob("*.nix"))
    text = (
        template_env()
        .get_template("default.nix.j2")
        .render(version=__version__, nix_lib=nix_library_path(), keys=keys)
    )
    path = work_dir / "default.nix"
    write_atomically(path, text)
    return path
