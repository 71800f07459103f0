"""RawConfig -> Project: which envs exist, their resolved settings, python request and package formats."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import Final, cast

from nixtox.errors import ConfigError
from nixtox.model import BUILTIN_PACKAGE_FORMATS, Command, CoreConfig, EnvConfig, EnvSpec, PackageDef, Project

from ._factors import find_envs, interpreter_request, python_conflicts
from ._keys import CORE_KEYS, ENV_KEYS, Scope, known_names, lookup
from ._resolve import Resolver, Resolvers
from ._sources import RawConfig, RawSection

__all__ = ["build_env", "build_project", "unknown_key_warnings"]

#: tox ``package`` values and the nixtox format each one builds.
PACKAGE_TO_FORMAT: Final = {
    "sdist": "sdist",
    "sdist-wheel": "sdist",
    "wheel": "wheel",
    "editable": "editable",
    "editable-legacy": "editable",
    "deps-only": "skip",
    "skip": "skip",
}

_FIELDS: Final = frozenset(
    {
        "description",
        "base_python",
        "deps",
        "extras",
        "dependency_groups",
        "constraints",
        "commands_pre",
        "commands",
        "commands_post",
        "allowlist_externals",
        "set_env",
        "pass_env",
        "change_dir",
        "ignore_outcome",
        "ignore_errors",
        "depends",
        "labels",
        "skip_install",
        "package",
        "package_formats",
        "exclude_package_formats",
        "packagedef",
        "build_interpreter",
        "suicide_timeout",
        "interrupt_timeout",
        "terminate_timeout",
    }
)


def _known_formats() -> tuple[str, ...]:
    """Built-in formats plus those of installed plugins (``nixtox_package_formats`` hook)."""
    from nixtox.plugins import package_formats  # noqa: PLC0415 - plugins import config types

    return tuple(dict.fromkeys((*BUILTIN_PACKAGE_FORMATS, *package_formats())))


def _str(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in cast("Iterable[object]", value))


def _packagedefs(resolvers: Resolvers) -> dict[str, PackageDef]:
    out: dict[str, PackageDef] = {}
    for name, section in resolvers.raw.packagedefs.items():
        res = Resolver(resolvers, None, packagedef=section)
        fmt = _str(res.get("format")) or "wheel"
        known = _known_formats()
        if fmt not in known or fmt == "skip":
            usable = ", ".join(f for f in known if f != "skip")
            raise res.fail("format", f"unknown package format {fmt!r} (use {usable})")
        settings = cast("tuple[tuple[str, str], ...]", res.get("config_settings"))
        out[name] = PackageDef(
            name=name,
            format=fmt,
            build_interpreter=_str(res.get("build_interpreter")) or None,
            build_requires=_strs(res.get("build_requires")),
            config_settings=tuple(settings),
        )
    return out


def _python(res: Resolver, core: CoreConfig, name: str) -> tuple[tuple[str, ...], str | None]:
    """(base_python, interpreter request) with tox's name/base_python conflict rule."""
    base = _strs(res.get("base_python"))
    try:
        from_name = interpreter_request(name)
    except ValueError as exc:
        if core.ignore_base_python_conflict:
            return base, base[0] if base else None
        msg = f"{res.raw.label}: env '{name}': {exc} (one python factor per env name)"
        raise ConfigError(msg) from None
    if res.is_set("base_python") and from_name:
        for candidate in base:
            if python_conflicts(from_name, candidate):
                if core.ignore_base_python_conflict:
                    return (from_name,), from_name
                reason = (
                    f"env name {name} conflicts with base python {candidate}; fix base_python or set "
                    "ignore_base_python_conflict = true in the core section"
                )
                raise res.fail("base_python", reason)
    return base, base[0] if base else None


def _formats(res: Resolver, core: CoreConfig, root: Path) -> tuple[str, tuple[str, ...], PackageDef | None]:
    """(tox package value, formats after exclusion, packagedef)."""
    if core.extra.get("skip_sdist") or res.get("skip_install"):
        package = "skip"
    elif res.get("use_develop"):
        package = "editable"
    elif res.is_set("package"):
        package = _str(res.get("package"))
    else:
        is_project = (root / "pyproject.toml").is_file() or (root / "setup.py").is_file()
        package = "sdist" if is_project else "skip"
    if package not in PACKAGE_TO_FORMAT:
        raise res.fail("package", f"unknown package {package!r} (use {', '.join(PACKAGE_TO_FORMAT)})")
    packagedef = None
    if pd_name := _str(res.get("packagedef")):
        packagedef = core.packagedefs.get(pd_name)
        if packagedef is None:
            known = ", ".join(core.packagedefs) or "none defined"
            raise res.fail(
                "packagedef", f"unknown packagedef {pd_name!r} (known: {known}); add [packagedef:{pd_name}]"
            )
    formats = _strs(res.get("package_formats"))
    if core.extra.get("skip_sdist") or res.get("skip_install"):
        formats = ("skip",)  # skip_install = true: no package, whatever the formats say (as tox)
    elif not formats:
        formats = (packagedef.format,) if packagedef and package != "skip" else (PACKAGE_TO_FORMAT[package],)
    excluded = _strs(res.get("exclude_package_formats"))
    for key, values in (("package_formats", formats), ("exclude_package_formats", excluded)):
        for fmt in values:
            if fmt not in _known_formats():
                raise res.fail(key, f"unknown package format {fmt!r} (use {', '.join(_known_formats())})")
    return package, tuple(dict.fromkeys(f for f in formats if f not in excluded)), packagedef


def build_env(resolvers: Resolvers, core: CoreConfig, name: str, *, default: bool) -> tuple[EnvSpec, ...]:
    """Every EnvSpec (one per package format) of env ``name``; empty when every format was excluded."""
    res = resolvers(name)
    base_python, python = _python(res, core, name)
    package, formats, packagedef = _formats(res, core, resolvers.raw.root)
    configs = {
        fmt: _env_config(
            resolvers(name, EnvSpec.key_for(name, fmt, len(formats))) if len(formats) > 1 else res,
            base_python=base_python, package=package, formats=formats, packagedef=packagedef,
        )
        for fmt in formats
    }  # fmt: skip
    factors = tuple(name.split("-"))
    return tuple(
        EnvSpec(
            name=name,
            package_format=fmt,
            factors=factors,
            python=python,
            default=default,
            config=configs[fmt],
            format_count=len(formats),
            packagedef=packagedef,
        )
        for fmt in formats
    )


def unknown_key_warnings(raw: RawConfig) -> tuple[str, ...]:
    checks: list[tuple[RawSection, Scope]] = [(raw.core, "core"), (raw.base, "env")]
    seen: set[int] = {id(raw.core), id(raw.base)}
    for section in raw.envs.values():
        if id(section) not in seen:
            seen.add(id(section))
            checks.append((section, "env"))
    checks.extend((section, "packagedef") for section in raw.packagedefs.values())
    out: list[str] = []
    for section, scope in checks:
        for key in section.values:
            if key in raw.default_keys or lookup(scope, key) is not None:
                continue
            close = difflib.get_close_matches(key, known_names(scope), n=1)
            hint = f", did you mean '{close[0]}'?" if close else ""
            out.append(f"{raw.label}:{section.title}: unknown key '{key}'{hint}")
    return tuple(out)


def condition_envs(raw: RawConfig) -> tuple[str, ...]:
    """Env names spelled by factor conditions (``django: x`` -> ``django``). In ini configs those whose
    factors are not already known are envs (listed under "additional environments"), as in tox 4; their
    factors may also be combined into ad-hoc ``-e`` names."""
    sections = [raw.core, raw.base, *raw.envs.values()]
    texts: list[str] = []
    for section in sections:
        for value in section.values.values():
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, list):
                texts.extend(item for item in value if isinstance(item, str))
    found: dict[str, None] = {}
    for text in texts:
        found.update(dict.fromkeys(find_envs(text)))
    return tuple(found)


def build_project(
    raw: RawConfig, posargs: Sequence[str] | None, environ: Mapping[str, str] | None = None
) -> Project:
    resolvers = Resolvers(raw, posargs, environ)
    res = resolvers(None)
    env_list = _strs(res.get("env_list"))
    labels = cast("dict[str, tuple[str, ...]]", res.get("labels"))
    extra: dict[str, object] = {key.name: res.get(key.name) for key in CORE_KEYS}
    extra["condition_envs"] = condition_envs(raw)
    core = CoreConfig(
        root=raw.root,
        config_file=raw.path,
        env_list=env_list,
        skip_missing_interpreters=bool(res.get("skip_missing_interpreters")),
        labels=labels,
        nixpkgs=_str(res.get("nixpkgs")) or None,
        interpreter_providers=_strs(res.get("interpreter_providers")) or ("host",),
        min_version=_str(res.get("min_version")),
        requires=_strs(res.get("requires")),
        extra=extra,
        ignore_base_python_conflict=bool(res.get("ignore_base_python_conflict")),
        posargs=resolvers.posargs,
        warnings=unknown_key_warnings(raw),
    )
    core = replace(core, packagedefs=_packagedefs(resolvers))
    defaults = env_list or ("py",)
    names = dict.fromkeys(chain(defaults, raw.envs, chain.from_iterable(labels.values())))
    if raw.fmt == "ini":
        # tox 4's ini source also lists envs spelled only by conditions whose factors are new
        known = set(chain.from_iterable(name.split("-") for name in chain(env_list, raw.envs)))
        names.update(dict.fromkeys(e for e in condition_envs(raw) if set(e.split("-")) - known))
    specs: list[EnvSpec] = []
    dropped: dict[str, str] = {}
    for name in names:
        built = build_env(resolvers, core, name, default=name in defaults)
        if not built:
            dropped[name] = "exclude_package_formats removed every package format"
        specs.extend(built)
    return Project(core=replace(core, dropped_envs=dropped), envs=tuple(specs))


def _env_config(
    res: Resolver,
    *,
    base_python: tuple[str, ...],
    package: str,
    formats: tuple[str, ...],
    packagedef: PackageDef | None,
) -> EnvConfig:
    values = {key.name: res.get(key.name) for key in ENV_KEYS}
    extra = {k: v for k, v in values.items() if k not in _FIELDS}
    return EnvConfig(
        description=_str(values["description"]),
        base_python=base_python,
        deps=_strs(values["deps"]),
        extras=_strs(values["extras"]),
        dependency_groups=_strs(values["dependency_groups"]),
        constraints=_strs(values["constraints"]),
        commands_pre=cast("tuple[Command, ...]", values["commands_pre"]),
        commands=cast("tuple[Command, ...]", values["commands"]),
        commands_post=cast("tuple[Command, ...]", values["commands_post"]),
        allowlist_externals=_strs(values["allowlist_externals"]),
        set_env=cast("tuple[tuple[str, str], ...]", values["set_env"]),
        pass_env=_strs(values["pass_env"]),
        change_dir=cast("Path", values["change_dir"]),
        ignore_outcome=bool(values["ignore_outcome"]),
        ignore_errors=bool(values["ignore_errors"]),
        depends=_strs(values["depends"]),
        labels=_strs(values["labels"]),
        skip_install=bool(values["skip_install"]),
        package=package,
        package_formats=formats,
        exclude_package_formats=_strs(values["exclude_package_formats"]),
        packagedef=packagedef.name if packagedef else None,
        build_interpreter=_str(values["build_interpreter"])
        or (packagedef.build_interpreter if packagedef else None),
        suicide_timeout=cast("float", values["suicide_timeout"]),
        interrupt_timeout=cast("float", values["interrupt_timeout"]),
        terminate_timeout=cast("float", values["terminate_timeout"]),
        extra=extra,
    )
