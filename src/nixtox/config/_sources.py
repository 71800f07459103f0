"""Find the configuration file and read it into a ``RawConfig`` (sections of raw, unconverted values).

Order per directory (walking up from the project dir, as tox does): ``nixtox.toml``, ``pyproject.toml``
``[tool.nixtox]``, then tox's own order: ``tox.ini``, ``setup.cfg [tox:tox]``, ``pyproject.toml [tool.tox]``
(native, else ``legacy_tox_ini``), ``tox.toml``.
"""

from __future__ import annotations

import configparser
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Literal

from nixtox.errors import ConfigError

from ._convert import factor_group
from ._factors import expand_env_names, filter_for_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["RawConfig", "RawSection", "discover"]

_TOML_RESERVED = frozenset(
    {"env_run_base", "env_pkg_base", "env_base", "env", "packagedef", "legacy_tox_ini", "cache"}
)
#: binary-cache keys may sit in their own table (``[tool.nixtox.cache]``, tox.ini ``[nixtox:cache]``):
#: they are core keys, merged into the core section.
_CACHE_TABLE_KEYS = frozenset({"substituters", "trusted_public_keys", "push_to", "secret_key_file"})


def _merge_cache_table(path: Path, core: dict[str, object], table: object, title: str) -> None:
    if not isinstance(table, dict):
        msg = f"{path.name}: {title} must be a table"
        raise ConfigError(msg)
    for key, value in table.items():
        if key not in _CACHE_TABLE_KEYS:
            known = ", ".join(sorted(_CACHE_TABLE_KEYS))
            msg = f"{path.name}: {title}: unknown key {key!r} (known: {known})"
            raise ConfigError(msg)
        if key in core:
            msg = f"{path.name}: {key} is set both in {title} and in the core section; keep one"
            raise ConfigError(msg)
        core[key] = value


@dataclass
class RawSection:
    #: how messages name it: ``[testenv:py312]``, ``[env.py312]``
    title: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class RawConfig:
    path: Path
    root: Path
    fmt: Literal["ini", "toml"]
    core: RawSection
    base: RawSection
    #: explicit env sections by env name, in file order (generative ini section names expanded)
    envs: dict[str, RawSection]
    packagedefs: dict[str, RawSection]
    #: every ini section by its header, for ``{[section]key}`` references
    sections: dict[str, RawSection] = field(default_factory=dict)
    #: keys of the ini ``[DEFAULT]`` section: present in every section, never "unknown"
    default_keys: frozenset[str] = frozenset()
    #: TOML ``[env_base.NAME]`` tables (tox 4's generative envs; ``factors`` is not an env key)
    env_bases: dict[str, RawSection] = field(default_factory=dict)
    #: env names an ``env_base`` table generates, in order, with the name of that table
    generated: dict[str, str] = field(default_factory=dict)
    #: TOML top-level tables an env's ``base`` may name (``base = ["common"]`` -> ``[common]``)
    tables: dict[str, RawSection] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.path.name


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path.name}: cannot read: {exc}"
        raise ConfigError(msg) from exc


def _read_toml(path: Path) -> dict[str, object]:
    try:
        data: dict[str, object] = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path.name}: invalid TOML: {exc}"
        raise ConfigError(msg) from exc
    return data


def _table(data: Mapping[str, object], *keys: str) -> dict[str, object] | None:
    node: object = data
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def parse_ini(path: Path, text: str, core_name: str) -> RawConfig:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text.removeprefix("\ufeff"), str(path.name))
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"{path.name}: cannot parse: {first_line}"
        raise ConfigError(msg) from exc
    default_keys = frozenset(parser.defaults())
    sections: dict[str, RawSection] = {}
    for header in parser.sections():
        sections[header] = RawSection(f"[{header}]", {k: parser[header][k] for k in parser[header]})
    envs: dict[str, RawSection] = {}
    packagedefs: dict[str, RawSection] = {}
    for header, section in sections.items():
        prefix, sep, name = header.partition(":")
        if not sep or not name.strip():
            continue
        if prefix == "testenv":
            try:
                names = expand_env_names(name)
            except ValueError:
                names = [name.strip()]
            for env in names:
                envs.setdefault(env, section)
        elif prefix == "packagedef":
            packagedefs[name.strip()] = section
    core = sections.get(core_name, RawSection(f"[{core_name}]", dict(parser.defaults())))
    if "nixtox:cache" in sections:
        core = RawSection(core.title, dict(core.values))
        cache = {k: v for k, v in sections["nixtox:cache"].values.items() if k not in default_keys}
        _merge_cache_table(path, core.values, cache, "[nixtox:cache]")
    return RawConfig(
        path=path,
        root=path.parent,
        fmt="ini",
        core=core,
        base=sections.get("testenv", RawSection("[testenv]", dict(parser.defaults()))),
        envs=envs,
        packagedefs=packagedefs,
        sections=sections,
        default_keys=default_keys,
    )


def parse_toml(path: Path, data: Mapping[str, object], prefix: str) -> RawConfig:
    """``prefix`` is how messages spell the table: "" (tox.toml), "tool.tox." or "tool.nixtox."."""

    def sub_tables(key: str) -> dict[str, RawSection]:
        raw = data.get(key, {})
        if not isinstance(raw, dict):
            msg = f"{path.name}: [{prefix}{key}] must be a table"
            raise ConfigError(msg)
        out: dict[str, RawSection] = {}
        for name, table in raw.items():
            if not isinstance(table, dict):
                msg = f"{path.name}: [{prefix}{key}.{name}] must be a table"
                raise ConfigError(msg)
            out[str(name)] = RawSection(f"[{prefix}{key}.{name}]", dict(table))
        return out

    base = data.get("env_run_base", {})
    if not isinstance(base, dict):
        msg = f"{path.name}: [{prefix}env_run_base] must be a table"
        raise ConfigError(msg)
    env_bases = sub_tables("env_base")
    tables = {
        str(k): RawSection(f"[{prefix}{k}]", dict(v))
        for k, v in data.items()
        if isinstance(v, dict) and k not in _TOML_RESERVED
    }
    core = {k: v for k, v in data.items() if k not in _TOML_RESERVED}
    if "cache" in data:
        _merge_cache_table(path, core, data["cache"], f"[{prefix}cache]")
    return RawConfig(
        path=path,
        root=path.parent,
        fmt="toml",
        core=RawSection(f"[{prefix.rstrip('.')}]" if prefix else "top level", core),
        base=RawSection(f"[{prefix}env_run_base]", dict(base)),
        envs=sub_tables("env"),
        packagedefs=sub_tables("packagedef"),
        env_bases=env_bases,
        generated=_generated_envs(path, env_bases),
        tables=tables,
    )


def _generated_envs(path: Path, env_bases: Mapping[str, RawSection]) -> dict[str, str]:
    """tox 4's ``[env_base.NAME] factors = [...]``: ``NAME-<factor>`` for a flat list, ``NAME-<combo>`` for
    the product of factor groups (lists, ``{prefix, start, stop}`` ranges, labeled groups)."""
    out: dict[str, str] = {}
    for name, section in env_bases.items():
        factors = section.values.get("factors")
        if factors is None:
            msg = (
                f"{path.name}: {section.title} requires a 'factors' key; use [env.{name}] for one environment"
            )
            raise ConfigError(msg)
        if not isinstance(factors, list):
            msg = f"{path.name}: {section.title} factors must be a list, found {factors!r}"
            raise ConfigError(msg)
        try:
            if factors and isinstance(factors[0], (list, dict)):
                combos = ["-".join(c) for c in product(*(factor_group(g) for g in factors))]
            else:
                combos = [str(f) for f in factors]
        except ValueError as exc:
            raise ConfigError(f"{path.name}: {section.title} factors: {exc}") from None
        out.update(dict.fromkeys((f"{name}-{combo}" for combo in combos), name))
    return out


# --- one loader per known file name; each returns None when the file holds no config for it ---------------


def _nixtox_toml(path: Path) -> RawConfig | None:
    return parse_toml(path, _read_toml(path), "")


def _pyproject_nixtox(path: Path) -> RawConfig | None:
    data = _read_toml(path)
    table = _table(data, "tool", "nixtox")
    return parse_toml(path, table, "tool.nixtox.") if table is not None else None


def _tox_ini(path: Path) -> RawConfig | None:
    return parse_ini(path, _read_text(path), "tox")


def _setup_cfg(path: Path) -> RawConfig | None:
    raw = parse_ini(path, _read_text(path), "tox:tox")
    return raw if "tox:tox" in raw.sections else None


def _pyproject_tox(path: Path) -> RawConfig | None:
    data = _read_toml(path)
    table = _table(data, "tool", "tox")
    if table is None:
        return None
    if set(table) - {"legacy_tox_ini"}:
        return parse_toml(path, table, "tool.tox.")
    legacy = table.get("legacy_tox_ini")
    if isinstance(legacy, str):
        return parse_ini(path, legacy, "tox")
    return None


def _tox_toml(path: Path) -> RawConfig | None:
    return parse_toml(path, _read_toml(path), "")


_Loader = Callable[[Path], "RawConfig | None"]
_SEARCH: tuple[tuple[str, _Loader], ...] = (
    ("nixtox.toml", _nixtox_toml),
    ("pyproject.toml", _pyproject_nixtox),
    ("tox.ini", _tox_ini),
    ("setup.cfg", _setup_cfg),
    ("pyproject.toml", _pyproject_tox),
    ("tox.toml", _tox_toml),
)


def _candidates(folder: Path) -> Iterator[RawConfig]:
    for filename, loader in _SEARCH:
        candidate = folder / filename
        if candidate.is_file() and (raw := loader(candidate)) is not None:
            yield raw


def _exact(config_file: Path) -> RawConfig:
    if config_file.is_dir():
        found = next(_candidates(config_file), None)
        if found is None:
            msg = f"{config_file}: no nixtox or tox configuration found in this directory"
            raise ConfigError(msg)
        return found
    if not config_file.is_file():
        msg = f"{config_file}: config file does not exist (check the -c option)"
        raise ConfigError(msg)
    loaders = [loader for name, loader in _SEARCH if name == config_file.name]
    if not loaders:
        loaders = [_tox_toml] if config_file.suffix == ".toml" else [_tox_ini]
    for loader in loaders:
        if (raw := loader(config_file)) is not None:
            return raw
    msg = f"{config_file.name}: holds no nixtox or tox configuration"
    raise ConfigError(msg)


def discover(path: Path, config_file: Path | None) -> RawConfig:
    """The configuration for a project directory (or the exact ``-c`` file)."""
    if config_file is not None:
        return _exact(config_file if config_file.is_absolute() else path / config_file)
    for folder in (path, *path.parents):
        found = next(_candidates(folder), None)
        if found is not None:
            return found
    return parse_ini(path / "tox.ini", "", "tox")


# --- which sections an env (or the core) reads its keys from -------------------------------------------


def env_sections(raw: RawConfig, env_name: str) -> list[RawSection]:
    """The sections an env's keys come from, first wins: its own section, then its bases.

    As tox 4: ``base`` in the env's own section replaces the default bases (``[testenv]``; in TOML
    ``[env_base.NAME]`` of a generated env, then ``[env_run_base]``); each base name is a section of its
    own (``[common]``) and an env section (``[testenv:common]``); bases are not followed further."""
    own = raw.envs.get(env_name)
    if raw.fmt == "ini":
        default = ["testenv"]
    else:
        generated = raw.generated.get(env_name)
        default = [*([f"env_base.{generated}"] if generated else []), "env_run_base"]
    names = _base_names(own, env_name, raw.fmt) if own is not None and "base" in own.values else default
    return _chain([own] if own is not None else [], (s for n in names for s in _base_sections(raw, n)))


def core_sections(raw: RawConfig) -> list[RawSection]:
    """The core section, then the sections its ``base`` names (tox 4 reads core keys from those too)."""
    names = _base_names(raw.core, None, raw.fmt) if "base" in raw.core.values else []
    lookup = raw.sections if raw.fmt == "ini" else raw.tables
    return _chain([raw.core], (lookup[n] for n in names if n in lookup))


def _chain(first: list[RawSection], more: Iterator[RawSection]) -> list[RawSection]:
    chain = list(first)
    for section in more:
        if all(section is not known for known in chain):
            chain.append(section)
    return chain


def _base_names(section: RawSection, env_name: str | None, fmt: str) -> list[str]:
    value = section.values["base"]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = filter_for_env(str(value), env_name) if fmt == "ini" else str(value)
    splitter = "\n" if "\n" in text else ","
    return [item.strip() for item in text.split(splitter) if item.strip()]


def _base_sections(raw: RawConfig, name: str) -> Iterator[RawSection]:
    if raw.fmt == "ini":
        found = raw.base if name == "testenv" else raw.sections.get(name)
        candidates = [found, raw.envs.get(name)]
    else:
        name = name.removeprefix("tool.tox.").removeprefix("tool.nixtox.")
        if name.startswith("env_base."):
            candidates = [raw.env_bases.get(name.removeprefix("env_base."))]
        elif name == "env_run_base":
            candidates = [raw.base]
        else:
            candidates = [raw.tables.get(name), raw.envs.get(name)]
    yield from (c for c in candidates if c is not None)
