"""What an env asks for, gathered from its config and the project, and the lock key derived from it.

* ``deps`` lines, with ``-r file`` inlined and ``-c file`` turned into constraints (paths relative to the
  project root, nested files relative to the file that names them), as tox allows;
* ``constraints``: specifier lines, or files;
* the project's own dependencies + ``extras`` when the env installs the package (static metadata as lines;
  dynamic metadata as ``name[extras] @ file:///root`` so the resolver asks the build backend);
* ``dependency_groups`` (PEP 735; installed even with ``skip_install``, as in tox);
* build requirements: ``[build-system] requires`` + the packagedef's ``build_requires``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from nixtox.errors import ConfigError, LockError
from nixtox.model import CoreConfig, EnvRequirements, EnvSpec, Interpreter, ResolverOptions
from nixtox.pyproject import dependency_group, read_pyproject

__all__ = [
    "LOCK_SCHEMA",
    "env_requirements",
    "interpreter_identity",
    "lock_key",
    "package_constraint_hint",
    "resolver_options",
]

#: bump when the meaning of a lock entry changes: every key changes, every env relocks once.
LOCK_SCHEMA = 1

_FILE_OPTION = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=?\s*)(\S.*)$")
_EDITABLE = re.compile(r"^(-e|--editable)\b")


def _strip_comment(line: str) -> str:
    return re.sub(r"(^|\s)#.*$", "", line).strip()


def _read_lines(path: Path, env_name: str, seen: tuple[Path, ...]) -> tuple[list[str], list[str]]:
    if path in seen:
        raise LockError(
            f"env {env_name}: requirement files include each other: {' -> '.join(map(str, seen))}"
        )
    try:
        text = path.read_text()
    except OSError as exc:
        raise LockError(f"env {env_name}: cannot read requirement file {path}: {exc.strerror}") from None
    return _expand(text.replace("\\\n", "").splitlines(), path.parent, env_name, (*seen, path))


def _expand(
    lines: list[str] | tuple[str, ...], base: Path, env_name: str, seen: tuple[Path, ...] = ()
) -> tuple[list[str], list[str]]:
    """(requirements, constraints) with file references inlined."""
    requirements: list[str] = []
    constraints: list[str] = []
    for raw in lines:
        line = _strip_comment(raw)
        if not line:
            continue
        match = _FILE_OPTION.match(line)
        if match is not None:
            reqs, cons = _read_lines((base / match[2].strip()).resolve(), env_name, seen)
            if match[1] in ("-c", "--constraint"):
                constraints += reqs + cons
            else:
                requirements += reqs
                constraints += cons
        elif _EDITABLE.match(line) or line.startswith((".", "/", "file:")):
            raise LockError(
                f"env {env_name}: deps line {line!r} is a local path; nixtox locks files from an index. "
                "Install the project through package/extras, or publish the dependency to an index"
            )
        else:
            requirements.append(line)
    return requirements, constraints


def _constraint_lines(spec: EnvSpec, root: Path) -> list[str]:
    lines: list[str] = []
    for item in spec.config.constraints:
        stripped = item.strip()
        if not stripped or _FILE_OPTION.match(stripped):
            lines.append(stripped)
        elif (root / stripped).is_file():
            lines.append(f"-c {stripped}")
        else:
            lines.append(stripped)
    return lines


def env_requirements(spec: EnvSpec, core: CoreConfig) -> EnvRequirements:
    root = core.root
    requirements, constraints = _expand(spec.config.deps, root, spec.name)
    cons_reqs, cons_cons = _expand(_constraint_lines(spec, root), root, spec.name)
    constraints += cons_reqs + cons_cons
    build: list[str] = []
    local_project = None
    metadata_digest = ""
    needs_metadata = spec.installs_package or spec.config.dependency_groups
    meta = read_pyproject(root) if needs_metadata else None
    if meta is not None and spec.installs_package:
        if meta.static:
            requirements += meta.requirements(spec.config.extras)
        else:
            extras = f"[{','.join(spec.config.extras)}]" if spec.config.extras else ""
            uri = root.resolve().as_uri()
            requirements.append(f"{meta.name}{extras} @ {uri}" if meta.name else f"{root.resolve()}{extras}")
            local_project = meta.name or ""
            metadata_digest = meta.metadata_digest
        build += spec.format.build_requirements(meta.build_requires, meta.build_backend, spec.packagedef)
    if meta is not None:
        for group in spec.config.dependency_groups:
            requirements += dependency_group(meta, group)
    return EnvRequirements(
        requirements=tuple(dict.fromkeys(requirements)),
        constraints=tuple(dict.fromkeys(constraints)),
        build_requirements=tuple(dict.fromkeys(build)),
        local_project=local_project,
        project_metadata=metadata_digest,
        options=resolver_options(spec),
    )


#: tox-uv's ``uv_resolution`` values ("" = uv's default, highest)
_RESOLUTIONS = ("", "highest", "lowest", "lowest-direct")


def resolver_options(spec: EnvSpec) -> ResolverOptions:
    """tox ``pip_pre`` and tox-uv ``uv_resolution``: how the env's requirements are resolved."""
    resolution = spec.config.uv_resolution.strip()
    if resolution not in _RESOLUTIONS:
        valid = ", ".join(r for r in _RESOLUTIONS if r)
        raise ConfigError(f"env {spec.label}: uv_resolution = {resolution!r} is not one of {valid}")
    return ResolverOptions(pre_releases=spec.config.pip_pre, resolution=resolution)


def interpreter_identity(interpreter: Interpreter) -> str:
    """Implementation, version and supported tags: equal on two machines with the same interpreter.

    Not the executable path (it differs between machines) nor the binary's hash (it differs between builds
    of the same version, which resolve identically).
    """
    version = ".".join(map(str, interpreter.version)) + ("t" if interpreter.free_threaded else "")
    tags = hashlib.sha256("\n".join(interpreter.tags).encode()).hexdigest()[:16]
    return f"{interpreter.implementation}-{version}-{tags}"


def lock_key(
    requirements: EnvRequirements,
    interpreter: Interpreter,
    index_url: str,
    build_interpreter: Interpreter | None = None,
) -> str:
    payload = {
        "schema": LOCK_SCHEMA,
        "requirements": list(requirements.requirements),
        "constraints": list(requirements.constraints),
        "build": list(requirements.build_requirements),
        "project-metadata": requirements.project_metadata,
        "interpreter": interpreter_identity(interpreter),
        "build-interpreter": (
            interpreter_identity(build_interpreter or interpreter) if requirements.build_requirements else ""
        ),
        "index": index_url,
        **requirements.options.lock_payload(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def package_constraint_hint(spec: EnvSpec) -> str:
    """Why a resolution tox would get through can fail here (appended to the resolver's message).

    tox installs ``deps`` first and the package after; unless ``constrain_package_deps`` (and, with
    ``use_frozen_constraints``, the frozen deps) constrain that second install, the package's own
    requirements may silently replace a deps pin. nixtox resolves deps and the package's requirements
    together, as tox does with ``constrain_package_deps = true``: a conflict between them is an error."""
    if not spec.installs_package or not spec.config.deps or spec.config.constrain_package_deps:
        return ""
    frozen = (
        " (use_frozen_constraints acts only together with constrain_package_deps, in tox too)"
        if spec.config.use_frozen_constraints
        else ""
    )
    return (
        "; nixtox resolves deps together with the package's own requirements (tox with "
        "constrain_package_deps = true), so a deps pin the package's requirements contradict cannot "
        f"be replaced as plain tox would: relax that pin in deps{frozen}"
    )
