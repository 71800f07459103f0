"""RawConfig -> Project: which envs exist, their resolved settings, python request and package formats.

Every fact about an env's package is decided here once and carried on its ``EnvSpec``: the format
(a plugin object: whether it installs the package at all), the packagedef and the build interpreter
request. Later stages read those fields; none of them looks at ``package``/``skip_install`` again.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any, Final, cast

from nixtox._reqlines import parse_local
from nixtox.errors import ConfigError
from nixtox.model import (
    UV_LOCK_RUNNER,
    CacheConfig,
    CoreConfig,
    EnvConfig,
    EnvSpec,
    PackageDef,
    Project,
)
from nixtox.plugins import INSTALLPKG_FORMAT, PackageFormat, find_format, package_formats

from ._factors import find_envs, interpreter_request, python_conflicts
from ._ignored import ignored_key_warnings
from ._keys import CORE_KEYS, ENV_KEYS, Scope, known_names, lookup
from ._override import Override
from ._resolve import Resolver, Resolvers
from ._sources import RawConfig, RawSection

__all__ = ["ExpandOptions", "build_env", "build_project", "unknown_key_warnings"]


@dataclass(frozen=True)
class ExpandOptions:
    """What the command line decides about the project, as tox's options do (``nixtox run --develop``)."""

    #: ``-x/--override`` (and ``TOX_OVERRIDE``), in the order given
    overrides: tuple[Override, ...] = ()
    #: ``--workdir``: nixtox's work directory instead of ``.nixtox`` at the project root
    work_dir: Path | None = None
    #: ``-s/--skip-missing-interpreters true|false``; None (``config``): the config's value
    skip_missing_interpreters: bool | None = None
    #: ``--develop``: every env that installs the package installs it editable
    develop: bool = False
    #: ``--installpkg``: every env that installs the package installs this wheel or sdist instead
    install_pkg: Path | None = None
    #: ``--skip-pkg-install``: no env installs the package (its dependencies neither), deps only
    skip_pkg_install: bool = False

    @property
    def changes_requirements(self) -> bool:
        """Whether the envs may need other pins than the config gives them (a one-off run's lock is
        kept in memory, not written to ``nixtox.lock``)."""
        return bool(self.overrides or self.develop or self.install_pkg or self.skip_pkg_install)


#: env keys with a typed ``EnvConfig`` field; every other declared env key goes to ``unacted``.
_ENV_FIELDS: Final = frozenset(EnvConfig.__dataclass_fields__) - {"unacted"}
#: keys read while deciding the formats (``_formats``) rather than stored as themselves
_DECIDED: Final = frozenset({"use_develop"})


def _str(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in cast("Iterable[object]", value))


def _usable_formats(*, installs_only: bool = False) -> str:
    names = [f.name for f in package_formats().values() if f.installs or not installs_only]
    return ", ".join(names)


def _packagedefs(resolvers: Resolvers) -> dict[str, PackageDef]:
    out: dict[str, PackageDef] = {}
    for name, section in resolvers.raw.packagedefs.items():
        res = Resolver(resolvers, None, packagedef=section)
        written = _str(res.get("format")) or "wheel"
        fmt = find_format(written)
        if fmt is None or (why := fmt.validate_packagedef()) is not None:
            reason = "unknown package format" if fmt is None else why
            raise res.fail("format", f"{reason}: {written!r} (use {_usable_formats(installs_only=True)})")
        settings = cast("tuple[tuple[str, str], ...]", res.get("config_settings"))
        out[name] = PackageDef(
            name=name,
            format=fmt.name,
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


def _format(res: Resolver, key: str, written: str) -> PackageFormat:
    fmt = find_format(written)
    if fmt is None:
        raise res.fail(key, f"unknown package format {written!r} (use {_usable_formats()})")
    return fmt


def self_references(deps: Iterable[str], root: Path) -> tuple[tuple[str, ...], tuple[str, ...], bool | None]:
    """``deps`` without the lines that name the project itself (``.``, ``.[test]``, ``-e .``,
    ``{toxinidir}[x]``), the extras those lines ask for, and whether they install it editable (None: no
    such line). tox installs such a line with pip, i.e. the project's package with those extras."""
    kept: list[str] = []
    extras: dict[str, None] = {}
    editable: bool | None = None
    for line in deps:
        local = parse_local(line, root)
        if local is None or local.path != root.resolve() or local.is_archive:
            kept.append(line)
            continue
        extras.update(dict.fromkeys(local.extras))
        editable = bool(editable) or local.editable
    return tuple(kept), tuple(extras), editable


#: tox-uv's lock runner ``package`` values -> nixtox formats (``uv``/``uv-editable`` name uv's backend)
_UV_SYNC_PACKAGE = {
    "editable": "editable",
    "uv-editable": "editable",
    "wheel": "wheel",
    "uv": "wheel",
    "skip": "skip",
}


def _uv_sync_format(
    res: Resolver, core: CoreConfig
) -> tuple[str, tuple[PackageFormat, ...], PackageDef | None]:
    """tox-uv's lock runner: ``uv sync`` installs the project editable unless ``package`` says otherwise;
    ``skip_install`` is not read, and ``only_groups``, ``--only-group``, ``--only-dev`` and
    ``--no-install-project`` leave the project out (as ``uv sync`` does): nixtox does not build it either."""
    words = [word.partition("=")[0] for flag in _strs(res.get("uv_sync_flags")) for word in flag.split()]
    leaves_out = bool(_strs(res.get("only_groups"))) or bool(
        {"--no-install-project", "--only-group", "--only-dev"} & set(words)
    )
    written = _str(res.get("package")) if res.is_set("package") else "editable"
    if written not in _UV_SYNC_PACKAGE:
        raise res.fail(
            "package",
            f"{written!r} is not a package of runner = {UV_LOCK_RUNNER} (use {', '.join(_UV_SYNC_PACKAGE)})",
        )
    package = "skip" if core.no_package or leaves_out else _UV_SYNC_PACKAGE[written]
    return package, (_format(res, "package", package),), None


def _formats(
    res: Resolver, core: CoreConfig, root: Path, given: ExpandOptions
) -> tuple[str, tuple[PackageFormat, ...], PackageDef | None]:
    """(tox package value, the env's formats after exclusion, packagedef), decided once."""
    if _str(res.get("runner")) == UV_LOCK_RUNNER:
        return _uv_sync_format(res, core)
    return _tox_formats(res, core, root, given)


def _tox_formats(
    res: Resolver, core: CoreConfig, root: Path, given: ExpandOptions
) -> tuple[str, tuple[PackageFormat, ...], PackageDef | None]:
    no_package = core.no_package or bool(res.get("skip_install"))
    _deps, _extras, self_editable = self_references(_strs(res.get("deps")), root)
    if no_package and self_editable is not None:
        # skip_install with `.[test]` (or `-e .`) in deps: the package comes through deps, as with pip
        package = "editable" if self_editable else "wheel"
        return package, (_format(res, "deps", package),), None
    if not no_package and (chosen := _given_format(res, given)) is not None:
        return chosen
    if no_package:
        package = "skip"
    elif res.get("use_develop"):
        package = "editable"
    elif res.is_set("package"):
        package = _str(res.get("package"))
    else:
        is_project = (root / "pyproject.toml").is_file() or (root / "setup.py").is_file()
        package = "sdist" if is_project else "skip"
    default = _format(res, "package", package)
    packagedef = None
    if pd_name := _str(res.get("packagedef")):
        packagedef = core.packagedefs.get(pd_name)
        if packagedef is None:
            known = ", ".join(core.packagedefs) or "none defined"
            raise res.fail(
                "packagedef", f"unknown packagedef {pd_name!r} (known: {known}); add [packagedef:{pd_name}]"
            )
    written = _strs(res.get("package_formats"))
    formats: tuple[PackageFormat, ...]
    if no_package:
        formats = (default,)  # skip_install = true: no package, whatever the formats say (as tox)
    elif written:
        formats = tuple(_format(res, "package_formats", f) for f in written)
    elif packagedef is not None and default.installs:
        formats = (_format(res, "packagedef", packagedef.format),)
    else:
        formats = (default,)
    excluded = {_format(res, "exclude_package_formats", f) for f in _strs(res.get("exclude_package_formats"))}
    return package, tuple(dict.fromkeys(f for f in formats if f not in excluded)), packagedef


def _given_format(
    res: Resolver, given: ExpandOptions
) -> tuple[str, tuple[PackageFormat, ...], PackageDef | None] | None:
    """The one format the command line gives every env that installs the package, as tox's options
    replace its ``package`` (``external`` for ``--installpkg``); None: the config decides."""
    if given.install_pkg is not None:
        return "external", (INSTALLPKG_FORMAT,), None
    if given.skip_pkg_install:
        return "skip", (_format(res, "package", "skip"),), None
    if given.develop:
        return "editable", (_format(res, "package", "editable"),), None
    return None


def build_env(
    resolvers: Resolvers, core: CoreConfig, name: str, *, default: bool, given: ExpandOptions | None = None
) -> tuple[EnvSpec, ...]:
    """Every EnvSpec (one per package format) of env ``name``; empty when every format was excluded."""
    given = given or ExpandOptions()
    res = resolvers(name)
    base_python, python = _python(res, core, name)
    package, formats, packagedef = _formats(res, core, resolvers.raw.root, given)
    factors = tuple(name.split("-"))
    specs = []
    for fmt in formats:
        key = EnvSpec.key_for(name, fmt.name, len(formats))
        config = _env_config(
            resolvers(name, key), base_python=base_python, package=package, formats=formats,
            packagedef=packagedef, given=given,
        )  # fmt: skip
        specs.append(
            EnvSpec(
                name=name,
                format=fmt,
                factors=factors,
                python=python,
                default=default,
                config=config,
                env_dir=resolvers(name, key).env_dir(),
                format_count=len(formats),
                packagedef=packagedef,
                build_python=config.build_interpreter
                or (packagedef.build_interpreter if packagedef else None),
            )
        )
    return tuple(specs)


def override_warnings(overrides: Sequence[Override]) -> tuple[str, ...]:
    """An override that names no section, or a key its section does not have, changes nothing."""
    out: list[str] = []
    for override in overrides:
        scope = override.section_kind
        if scope is None:
            out.append(
                f"override -x {override}: {override.namespace!r} names no section (use tox, testenv, "
                "testenv:NAME or packagedef:NAME; in TOML also env_run_base, env.NAME)"
            )
        elif lookup(cast("Scope", scope), override.key) is None:
            other = "env" if scope == "core" and lookup("env", override.key) is not None else None
            hint = f" (an env key: write testenv.{override.key}=...)" if other else ""
            close = difflib.get_close_matches(override.key, known_names(cast("Scope", scope)), n=1)
            hint = hint or (f", did you mean '{close[0]}'?" if close else "")
            out.append(f"override -x {override}: unknown {scope} key '{override.key}'{hint}")
    return tuple(out)


def unknown_key_warnings(raw: RawConfig) -> tuple[str, ...]:
    checks: list[tuple[RawSection, Scope]] = [(raw.core, "core"), (raw.base, "env")]
    seen: set[int] = {id(raw.core), id(raw.base)}
    for section in [*raw.envs.values(), *raw.env_bases.values()]:
        if id(section) not in seen:
            seen.add(id(section))
            checks.append((section, "env"))
    checks.extend((section, "packagedef") for section in raw.packagedefs.values())
    out: list[str] = []
    for section, scope in checks:
        for key in section.values:
            if key in raw.default_keys or lookup(scope, key) is not None:
                continue
            if key == "factors" and any(section is b for b in raw.env_bases.values()):
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


def _cache_config(res: Resolver) -> CacheConfig:
    key_file = res.get("secret_key_file")
    return CacheConfig(
        substituters=_strs(res.get("substituters")),
        trusted_public_keys=_strs(res.get("trusted_public_keys")),
        push_to=_str(res.get("push_to")),
        secret_key_file=cast("Path", key_file) if res.is_set("secret_key_file") else None,
    )


_CORE_TYPED: Final = frozenset(
    {
        "env_list", "labels", "skip_missing_interpreters", "nixpkgs", "interpreter_providers",
        "ignore_base_python_conflict", "skip_sdist", "substituters", "trusted_public_keys", "push_to",
        "secret_key_file", "parallel_show_output",
    }
)  # fmt: skip


def _core(raw: RawConfig, resolvers: Resolvers, given: ExpandOptions) -> CoreConfig:
    res = resolvers(None)
    skip_missing = given.skip_missing_interpreters
    if skip_missing is None:
        skip_missing = bool(res.get("skip_missing_interpreters"))
    core = CoreConfig(
        root=raw.root,
        config_file=raw.path,
        given_work_dir=given.work_dir,
        env_list=_strs(res.get("env_list")),
        skip_missing_interpreters=skip_missing,
        labels=cast("dict[str, tuple[str, ...]]", res.get("labels")),
        nixpkgs=_str(res.get("nixpkgs")) or None,
        interpreter_providers=_strs(res.get("interpreter_providers")) or ("host",),
        no_package=bool(res.get("skip_sdist")),
        ignore_base_python_conflict=bool(res.get("ignore_base_python_conflict")),
        parallel_show_output=bool(res.get("parallel_show_output")),
        cache=_cache_config(res),
        posargs=resolvers.posargs,
        warnings=unknown_key_warnings(raw) + override_warnings(given.overrides),
        condition_envs=condition_envs(raw),
        unacted={key.name: res.get(key.name) for key in CORE_KEYS if key.name not in _CORE_TYPED},
    )
    return replace(core, packagedefs=_packagedefs(resolvers))


def _check_keys(specs: Sequence[EnvSpec], raw: RawConfig) -> None:
    """Two env names that map to one key would share a store path, a GC root and a directory."""
    seen: dict[str, EnvSpec] = {}
    for spec in specs:
        other = seen.setdefault(spec.key, spec)
        if other is not spec and other.name != spec.name:
            msg = (
                f"{raw.label}: envs {other.name!r} and {spec.name!r} both map to the key {spec.key!r} "
                "(a key keeps only ASCII letters, digits, '-' and '_'); rename one of them"
            )
            raise ConfigError(msg)


def build_project(
    raw: RawConfig,
    posargs: Sequence[str] | None,
    environ: Mapping[str, str] | None = None,
    given: ExpandOptions | None = None,
) -> Project:
    given = given or ExpandOptions()
    if given.work_dir is not None:
        given = replace(given, work_dir=given.work_dir.absolute())  # relative to the cwd, as tox
    resolvers = Resolvers(raw, posargs, environ, overrides=given.overrides, work_dir=given.work_dir)
    core = _core(raw, resolvers, given)
    defaults = core.env_list or ("py",)
    # `[testenv:.pkg]` and other names starting with a dot configure tox's packaging envs, not run envs
    sections = [name for name in raw.envs if not name.startswith(".")]
    names = dict.fromkeys(chain(defaults, sections, raw.generated, chain.from_iterable(core.labels.values())))
    if raw.fmt == "ini":
        # tox 4's ini source also lists envs spelled only by conditions whose factors are new
        known = set(chain.from_iterable(name.split("-") for name in chain(core.env_list, raw.envs)))
        names.update(dict.fromkeys(e for e in core.condition_envs if set(e.split("-")) - known))
    specs: list[EnvSpec] = []
    dropped: dict[str, str] = {}
    for name in names:
        built = build_env(resolvers, core, name, default=name in defaults, given=given)
        if not built:
            dropped[name] = "exclude_package_formats removed every package format"
        specs.extend(built)
    _check_keys(specs, raw)
    ignored = ignored_key_warnings(resolvers, names)
    core = replace(core, dropped_envs=dropped, warnings=(*core.warnings, *ignored))

    def adhoc(name: str) -> tuple[EnvSpec, ...]:
        built = build_env(resolvers, core, name, default=False, given=given)
        _check_keys([*specs, *built], raw)
        return built

    return Project(core=core, envs=tuple(specs), adhoc=adhoc)


def _env_config(
    res: Resolver,
    *,
    base_python: tuple[str, ...],
    package: str,
    formats: tuple[PackageFormat, ...],
    packagedef: PackageDef | None,
    given: ExpandOptions,
) -> EnvConfig:
    """Every declared key's converted value in the ``EnvConfig`` field of its name (conversion by the
    key's kind gives the field's type), the values ``build_env`` decided, and the rest in ``unacted``."""
    values = {key.name: res.get(key.name) for key in ENV_KEYS}
    typed: dict[str, Any] = {name: values[name] for name in _ENV_FIELDS if name in values}
    deps, self_extras, _editable = self_references(_strs(values["deps"]), res.raw.root)
    extras = tuple(dict.fromkeys((*_strs(values["extras"]), *self_extras)))
    if INSTALLPKG_FORMAT in formats and given.install_pkg is not None:
        # the given file is a requirement like any local wheel or sdist: the lock takes the package's
        # dependencies from its metadata and pins the file by its sha256
        deps = (*deps, f"{given.install_pkg}[{','.join(extras)}]" if extras else str(given.install_pkg))
    if given.skip_missing_interpreters is not None:
        typed["skip_missing_interpreters"] = given.skip_missing_interpreters
    typed.update(
        deps=deps,
        extras=extras,
        base_python=base_python,
        package=package,
        package_formats=tuple(f.name for f in formats),
        packagedef=packagedef.name if packagedef else None,
        build_interpreter=_str(values["build_interpreter"]) or None,
    )
    unacted = {k: v for k, v in values.items() if k not in _ENV_FIELDS and k not in _DECIDED}
    return EnvConfig(**typed, unacted=unacted)
