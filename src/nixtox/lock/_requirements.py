"""What an env asks for, gathered from its config and the project, and the lock key derived from it.

* ``deps`` lines, with ``-r file`` inlined and ``-c file`` turned into constraints (paths relative to the
  project root, nested files relative to the file that names them), as tox allows;
* ``constraints``: specifier lines, or files;
* the project itself as ``.[extras]`` when the env installs the package, so the resolver takes its
  dependencies from its metadata and never installs the index's release of the project's own name;
* local requirements (``../lib``, ``-e ../lib``, ``./dist/x.whl``, ``file:`` URLs) by root-relative paths,
  what they are now (a file's sha256, a project's metadata hash) in the lock key;
* ``dependency_groups`` (PEP 735; installed even with ``skip_install``, as in tox);
* build requirements: ``[build-system] requires`` + the packagedef's ``build_requires``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nixtox._reqlines import parse_local, root_relative
from nixtox.errors import ConfigError, LockError
from nixtox.model import CoreConfig, EnvRequirements, EnvSpec, Interpreter, ResolverOptions
from nixtox.pyproject import dependency_group, read_pyproject
from nixtox.source import metadata_hash

__all__ = [
    "LOCK_SCHEMA",
    "build_requirements",
    "env_requirements",
    "interpreter_identity",
    "interpreter_matches",
    "interpreter_series",
    "lock_key",
    "locked_for",
    "package_constraint_hint",
    "resolver_options",
]

#: bump when the meaning of a lock entry changes: every key changes, every env relocks once.
#: 2: the project is resolved as a local requirement (never its index release); local deps; the key
#:    holds the interpreter's major.minor (not its patch release) and the pin source.
LOCK_SCHEMA = 2

_FILE_OPTION = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=?\s*)(\S.*)$")


def _strip_comment(line: str) -> str:
    return re.sub(r"(^|\s)#.*$", "", line).strip()


@dataclass
class _Gathering:
    """What reading one env's requirement lines collects besides the lines: its local requirements."""

    root: Path
    env_name: str
    #: root-relative path of each local requirement -> what it is now (sha256 of a file, metadata hash)
    digests: dict[str, str] = field(default_factory=dict)
    editable: list[str] = field(default_factory=list)

    def local(self, line: str, base: Path) -> str:
        """A local requirement as the resolver gets it: by a path relative to the project root (so the lock
        key is the same wherever the checkout is)."""
        local = parse_local(line, base)
        assert local is not None
        path = local.path
        if not path.exists():
            raise LockError(f"env {self.env_name}: deps line {line!r} names {path}, which does not exist")
        shown = root_relative(path, self.root)
        if local.is_archive:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        elif (path / "pyproject.toml").is_file() or (path / "setup.py").is_file():
            digest = metadata_hash(path)
            if local.editable:
                self.editable.append(shown)
        else:
            raise LockError(
                f"env {self.env_name}: deps line {line!r} names {path}, which is neither a wheel or sdist "
                "file nor a Python project (no pyproject.toml or setup.py)"
            )
        self.digests[shown] = digest
        extras = f"[{','.join(local.extras)}]" if local.extras else ""
        return f"{shown}{extras}"


def _read_lines(path: Path, gathering: _Gathering, seen: tuple[Path, ...]) -> tuple[list[str], list[str]]:
    env_name = gathering.env_name
    if path in seen:
        raise LockError(
            f"env {env_name}: requirement files include each other: {' -> '.join(map(str, seen))}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LockError(f"env {env_name}: cannot read requirement file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise LockError(
            f"env {env_name}: requirement file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    return _expand(text.replace("\\\n", "").splitlines(), path.parent, gathering, (*seen, path))


def _expand(
    lines: list[str] | tuple[str, ...], base: Path, gathering: _Gathering, seen: tuple[Path, ...] = ()
) -> tuple[list[str], list[str]]:
    """(requirements, constraints) with file references inlined and local requirements made
    root-relative."""
    requirements: list[str] = []
    constraints: list[str] = []
    for raw in lines:
        line = _strip_comment(raw)
        if not line:
            continue
        match = _FILE_OPTION.match(line)
        if match is not None:
            reqs, cons = _read_lines((base / match[2].strip()).resolve(), gathering, seen)
            if match[1] in ("-c", "--constraint"):
                constraints += reqs + cons
            else:
                requirements += reqs
                constraints += cons
        elif parse_local(line, base) is not None:
            requirements.append(gathering.local(line, base))
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
    """What the env asks the resolver for. The project, when the env installs it, is one of the
    requirements as its local directory (``.[extras]``): its dependencies resolve with it, and a
    requirement of another package on the project's own name (pytest needs pluggy, in pluggy) is the
    project itself, never the index's release of it, as when pip installs the package over it."""
    root = core.root
    gathering = _Gathering(root, spec.label)
    requirements, constraints = _expand(spec.config.deps, root, gathering)
    cons_reqs, cons_cons = _expand(_constraint_lines(spec, root), root, gathering)
    constraints += cons_reqs + cons_cons
    local_project = None
    metadata_digest = ""
    needs_metadata = spec.installs_package or spec.config.dependency_groups
    meta = read_pyproject(root) if needs_metadata else None
    if meta is not None and spec.installs_package:
        extras = f"[{','.join(spec.config.extras)}]" if spec.config.extras else ""
        requirements.append(f".{extras}")
        local_project = meta.name or ""
        metadata_digest = meta.metadata_digest
    build = list(build_requirements(spec, core))
    if meta is not None:
        for group in spec.config.dependency_groups:
            requirements += dependency_group(meta, group)
    return EnvRequirements(
        requirements=tuple(dict.fromkeys(requirements)),
        constraints=tuple(dict.fromkeys(constraints)),
        build_requirements=tuple(dict.fromkeys(build)),
        local_project=local_project,
        project_metadata=metadata_digest,
        local_inputs=tuple(f"{path}={digest}" for path, digest in sorted(gathering.digests.items())),
        editable_paths=tuple(dict.fromkeys(gathering.editable)),
        options=resolver_options(spec),
    )


def build_requirements(spec: EnvSpec, core: CoreConfig) -> tuple[str, ...]:
    """The isolated build environment of the env's package: ``[build-system] requires`` + the
    packagedef's ``build_requires`` (none when the env installs no package)."""
    if not spec.installs_package:
        return ()
    meta = read_pyproject(core.root)
    return tuple(spec.format.build_requirements(meta.build_requires, meta.build_backend, spec.packagedef))


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


def interpreter_series(interpreter: Interpreter) -> str:
    """Implementation, major.minor and supported tags: what a lock depends on unless a marker it
    evaluated tells patch releases apart (``patch_sensitive``)."""
    version = interpreter.major_minor + ("t" if interpreter.free_threaded else "")
    tags = hashlib.sha256("\n".join(interpreter.tags).encode()).hexdigest()[:16]
    return f"{interpreter.implementation}-{version}-{tags}"


def locked_for(
    interpreter: Interpreter, build_interpreter: Interpreter | None, *, patch_sensitive: bool
) -> str:
    """An entry's ``interpreter``: the series, or the full identity (and a separate build
    interpreter's) when the pins depend on the patch release."""
    if not patch_sensitive:
        return interpreter_series(interpreter)
    own = interpreter_identity(interpreter)
    build = interpreter_identity(build_interpreter) if build_interpreter is not None else own
    return own if build == own else f"{own} build={build}"


def interpreter_matches(
    recorded: str, interpreter: Interpreter, build_interpreter: Interpreter | None = None
) -> bool:
    """Whether an entry locked for ``recorded`` (``locked_for``) holds for these interpreters."""
    return recorded in (
        locked_for(interpreter, build_interpreter, patch_sensitive=False),
        locked_for(interpreter, build_interpreter, patch_sensitive=True),
    )


def lock_key(
    requirements: EnvRequirements,
    interpreter: Interpreter,
    index_key: str,
    build_interpreter: Interpreter | None = None,
    *,
    pinned_by: Mapping[str, object] | None = None,
) -> str:
    """sha256 of everything an entry's pins follow from. ``pinned_by``: the inputs of an existing lock
    (uv.lock, pylock.toml) the runtime pins are read from instead of resolved."""
    payload = {
        "schema": LOCK_SCHEMA,
        "requirements": list(requirements.requirements),
        "constraints": list(requirements.constraints),
        "build": list(requirements.build_requirements),
        "project-metadata": requirements.project_metadata,
        "local": list(requirements.local_inputs),
        "editable": list(requirements.editable_paths),
        "interpreter": interpreter_series(interpreter),
        "build-interpreter": (
            interpreter_series(build_interpreter or interpreter) if requirements.build_requirements else ""
        ),
        "index": index_key,
        "pinned-by": dict(pinned_by or {}),
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
