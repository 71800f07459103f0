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
from collections.abc import Mapping
from pathlib import Path

from nixtox.errors import LockError
from nixtox.model import CoreConfig, EnvRequirements, EnvSpec, Interpreter
from nixtox.pyproject import dependency_group, read_pyproject

__all__ = [
    "LOCK_SCHEMA",
    "build_requirements",
    "env_requirements",
    "interpreter_identity",
    "interpreter_matches",
    "interpreter_series",
    "lock_key",
    "locked_for",
]

#: bump when the meaning of a lock entry changes: every key changes, every env relocks once.
#: 2: the key holds the interpreter's major.minor (not its patch release) and the pin source.
LOCK_SCHEMA = 2

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
    )


def build_requirements(spec: EnvSpec, core: CoreConfig) -> tuple[str, ...]:
    """The isolated build environment of the env's package: ``[build-system] requires`` + the
    packagedef's ``build_requires`` (none when the env installs no package)."""
    if not spec.installs_package:
        return ()
    meta = read_pyproject(core.root)
    return tuple(spec.format.build_requirements(meta.build_requires, meta.build_backend, spec.packagedef))


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
    index_url: str,
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
        "interpreter": interpreter_series(interpreter),
        "build-interpreter": (
            interpreter_series(build_interpreter or interpreter) if requirements.build_requirements else ""
        ),
        "index": index_url,
        "pinned-by": dict(pinned_by or {}),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
