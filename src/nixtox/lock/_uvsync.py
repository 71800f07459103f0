"""tox-uv's ``uv-venv-lock-runner`` as an install selection: which of ``uv.lock``'s packages an env gets.

tox-uv runs ``uv sync --locked [--extra E] [--no-default-groups] [--group G] [--only-group G]
[uv_sync_flags]``; ``no_default_groups`` defaults to true when ``dependency_groups`` is set,
``uv_sync_locked = false`` drops ``--locked`` and ``UV_FROZEN`` turns it into ``--frozen``. The same
arguments are read here into a ``UvSelection`` plus how ``uv.lock`` is checked against pyproject.toml
(``locked``: ``uv lock --check``; ``frozen``: not at all; ``update``: ``uv lock``, as ``uv sync`` would).
``uv_sync_flags`` that change nothing for a Nix-built env (``--reinstall``, ``--inexact`` ...) are
accepted; flags that would re-resolve or change where packages come from are refused.
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nixtox._process import run_process
from nixtox.errors import LockError
from nixtox.lock._engines import find_uv, one_line
from nixtox.lock._uvlock import UvSelection
from nixtox.model import UV_LOCK_RUNNER, EnvSpec, Interpreter

__all__ = ["LOCK_RUNNER", "LockCheck", "SyncOptions", "check_uv_lock", "default_groups"]

LOCK_RUNNER = UV_LOCK_RUNNER
_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")

#: flags with a value that select what is installed
_VALUE_FLAGS = ("--extra", "--no-extra", "--group", "--no-group", "--only-group", "--no-install-package")
_SELECT_FLAGS = (
    "--all-extras",
    "--all-groups",
    "--no-default-groups",
    "--dev",
    "--no-dev",
    "--only-dev",
    "--no-install-project",
    "--locked",
    "--frozen",
)
#: flags that change nothing for an env Nix builds from scratch (and output-only flags)
_NO_OP_FLAGS = (
    "--no-editable",
    "--inexact",
    "--exact",
    "--reinstall",
    "--refresh",
    "--compile-bytecode",
    "--no-progress",
    "--offline",
    "--no-cache",
    "-n",
    "--no-python-downloads",
    "--system-certs",
    "--native-tls",
    "-q",
    "--quiet",
    "-v",
    "--verbose",
)
_NO_OP_VALUE_FLAGS = (
    "--reinstall-package",
    "--refresh-package",
    "--no-editable-package",
    "--color",
    "--link-mode",
)


class LockCheck(str, enum.Enum):
    """How ``uv.lock`` is held against pyproject.toml before its pins are used."""

    LOCKED = "locked"  # uv sync --locked: a stale uv.lock is an error
    FROZEN = "frozen"  # uv sync --frozen: uv.lock is used as it is
    UPDATE = "update"  # uv sync: uv.lock is relocked when stale

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SyncOptions:
    """The ``uv sync`` arguments of one env, parsed."""

    selection: UvSelection
    check: LockCheck
    #: False with ``--no-install-project`` or ``only_groups``/``--only-group``: uv leaves the project out
    install_project: bool = True

    def key_inputs(self) -> dict[str, Any]:
        """The selection, for the lock key. Not ``check``: UV_FROZEN in CI and not on a laptop must
        not make a committed entry stale (uv.lock and pyproject.toml are in the key themselves)."""
        return {
            "project-dependencies": self.selection.project_dependencies,
            "extras": sorted(self.selection.extras),
            "all-extras": self.selection.all_extras,
            "no-extras": sorted(self.selection.no_extras),
            "groups": sorted(self.selection.groups),
            "skip": sorted(self.selection.skip_packages),
        }


def _flag_values(flags: Sequence[str], env_label: str) -> list[tuple[str, str | None]]:
    """``uv_sync_flags`` as (flag, value) pairs; ``--flag=value`` and ``--flag value`` both work."""
    pairs: list[tuple[str, str | None]] = []
    items = [word for flag in flags for word in flag.split()]
    while items:
        item = items.pop(0)
        flag, _, inline = item.partition("=")
        if flag in _VALUE_FLAGS or flag in _NO_OP_VALUE_FLAGS:
            value = inline if "=" in item else (items.pop(0) if items else None)
            if value is None:
                raise LockError(f"env {env_label}: uv_sync_flags: {flag} needs a value")
            pairs.append((flag, value))
        elif item in _SELECT_FLAGS or item in _NO_OP_FLAGS:
            pairs.append((item, None))
        else:
            supported = ", ".join((*_VALUE_FLAGS, *_SELECT_FLAGS, *_NO_OP_FLAGS, *_NO_OP_VALUE_FLAGS))
            raise LockError(
                f"env {env_label}: uv_sync_flags: nixtox does not support {item!r} for an env installed from "
                f"uv.lock (it would re-resolve or change where packages come from); supported: {supported}"
            )
    return pairs


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _frozen_by_environment(spec: EnvSpec, environ: Mapping[str, str]) -> bool:
    # tox-uv reads UV_FROZEN from the env's environment: set_env, else the passed-through host variable
    for key, value in spec.config.set_env:
        if key == "UV_FROZEN":
            return _truthy(value)
    return _truthy(environ.get("UV_FROZEN"))


def default_groups(pyproject: Mapping[str, Any], defined: Sequence[str]) -> tuple[str, ...]:
    """uv's default groups: ``[tool.uv] default-groups`` (a list, or ``"all"``), else ``dev``."""
    configured = pyproject.get("tool", {}).get("uv", {}).get("default-groups", ["dev"])
    if configured == "all":
        return tuple(defined)
    names = [g for g in configured if isinstance(g, str)] if isinstance(configured, list) else ["dev"]
    known = {_normalize(g) for g in defined}
    return tuple(g for g in names if _normalize(g) in known)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _config_bool(value: str, default: bool, *, key: str, env_label: str) -> bool:
    text = value.strip().lower()
    if not text:
        return default
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise LockError(f"env {env_label}: {key} = {value!r} is not a boolean (use true or false)")


def sync_options(
    spec: EnvSpec,
    pyproject: Mapping[str, Any],
    defined_groups: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> SyncOptions:
    """tox-uv's ``uv sync`` command line for ``spec``, read as a selection (``_build_uv_sync_cmd``)."""
    config = spec.config
    pairs = _flag_values(config.uv_sync_flags, spec.label)
    flags = {flag for flag, _ in pairs}
    values: dict[str, list[str]] = {}
    for flag, value in pairs:
        if value is not None:
            values.setdefault(flag, []).append(value)

    extras = [*config.extras, *values.get("--extra", [])]
    groups = [*config.dependency_groups, *values.get("--group", [])]
    only = [*config.only_groups, *values.get("--only-group", [])]
    if "--dev" in flags:
        groups.append("dev")
    if "--only-dev" in flags:
        only.append("dev")
    no_groups = {_normalize(g) for g in values.get("--no-group", [])} | (
        {"dev"} if "--no-dev" in flags else set()
    )
    no_defaults = _config_bool(
        config.no_default_groups,
        bool(config.dependency_groups),
        key="no_default_groups",
        env_label=spec.label,
    )
    if only:
        chosen = list(only)  # --only-group: the groups alone, no project, no defaults
    elif "--all-groups" in flags:
        chosen = list(defined_groups)
    else:
        defaults = (
            []
            if (no_defaults or "--no-default-groups" in flags)
            else list(default_groups(pyproject, defined_groups))
        )
        chosen = [*defaults, *groups]
    selection = UvSelection(
        project_dependencies=not only,
        extras=tuple(dict.fromkeys(extras)),
        all_extras="--all-extras" in flags,
        no_extras=tuple(values.get("--no-extra", [])),
        groups=tuple(dict.fromkeys(g for g in chosen if _normalize(g) not in no_groups)),
        skip_packages=tuple(values.get("--no-install-package", [])),
    )
    environ = os.environ if environ is None else environ
    if "--frozen" in flags or _frozen_by_environment(spec, environ):
        check = LockCheck.FROZEN
    elif config.uv_sync_locked or "--locked" in flags:
        check = LockCheck.LOCKED
    else:
        check = LockCheck.UPDATE
    return SyncOptions(selection, check, install_project=not only and "--no-install-project" not in flags)


def check_uv_lock(root: Path, interpreter: Interpreter, *, update: bool, env_label: str) -> None:
    """``uv lock --check`` (or ``uv lock`` with ``update``) in ``root``: a uv.lock that does not match
    pyproject.toml is a LockError with uv's explanation, as tox-uv's ``uv sync --locked`` fails."""
    uv = find_uv()
    if uv is None:
        raise LockError(
            f"env {env_label}: checking uv.lock against pyproject.toml needs uv (pip install "
            "'nixtox[resolver]'), or set UV_FROZEN=1 to use uv.lock as it is"
        )
    argv = [
        uv,
        "lock",
        "--python",
        str(interpreter.executable),
        "--no-progress",
        *([] if update else ["--check"]),
    ]
    dropped = ("UV_PYTHON", "UV_FROZEN", "UV_LOCKED", "UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    outcome = run_process(argv, cwd=root, env={**env, "NO_COLOR": "1"})
    if not outcome.ok:
        what = "cannot be updated" if update else "does not match pyproject.toml (`uv lock --check`)"
        raise LockError(f"env {env_label}: uv.lock {what}: {one_line(outcome.stderr)}")


def project_inputs(pyproject: Mapping[str, Any], metadata_digest: str) -> str:
    """What of pyproject.toml uv locks from (not ``[tool.tox]`` and other tools' tables), as JSON."""
    return json.dumps(
        {
            "project": pyproject.get("project", {}),
            "dependency-groups": pyproject.get("dependency-groups", {}),
            "build-system": pyproject.get("build-system", {}),
            "tool-uv": pyproject.get("tool", {}).get("uv", {}),
            "dynamic": metadata_digest,
        },
        sort_keys=True,
        default=str,
    )
