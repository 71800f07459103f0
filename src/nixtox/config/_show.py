"""Resolved settings of an env by tox 4 key name, as text (``nixtox config``) or JSON values."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from nixtox.model import Command, CoreConfig, EnvSpec

from ._keys import CORE_KEYS, ENV_KEYS

__all__ = ["core_settings", "env_settings", "to_json", "to_text"]


def env_settings(spec: EnvSpec) -> dict[str, object]:
    """Every declared env key (tox 4 names, declaration order) plus ``python``."""
    config = spec.config
    out: dict[str, object] = {}
    for key in ENV_KEYS:
        if key.name in config.unacted:
            out[key.name] = config.unacted[key.name]
        elif key.name == "use_develop":
            out[key.name] = spec.package_format == "editable"
        else:
            out[key.name] = getattr(config, key.name)
    out["set_env"] = dict(config.set_env)
    out["python"] = spec.python
    return out


#: core keys whose value lives in a CoreConfig field of another name
_CORE_FIELDS = {"skip_sdist": "no_package"}


def core_settings(core: CoreConfig) -> dict[str, object]:
    out: dict[str, object] = {}
    for key in CORE_KEYS:
        if key.name in core.unacted:
            out[key.name] = core.unacted[key.name]
        elif hasattr(core.cache, key.name):
            out[key.name] = getattr(core.cache, key.name)
        else:
            out[key.name] = getattr(core, _CORE_FIELDS.get(key.name, key.name))
    out.update(env_list=core.env_list, labels=dict(core.labels), tox_root=core.root)
    return out


def to_json(value: object) -> object:
    if isinstance(value, Command):
        return value.as_json()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    return value


def to_text(value: object) -> str:
    """tox's ``stringify``: sequences and mappings one entry per line."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, Command):
        prefix = ["-"] if value.ignore_exit_code else ["!"] if value.invert_exit_code else []
        return " ".join([*prefix, shlex.join(value.argv)])
    if isinstance(value, Mapping):
        return "\n".join(f"{k}={to_text(v)}" for k, v in value.items())
    if isinstance(value, Sequence):
        return "\n".join(to_text(v) for v in value)
    return str(value)
