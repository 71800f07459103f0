"""Resolve one key for one env: find the raw value, filter its factor conditions, substitute, convert.

ini values follow tox 4's order: strip comments, keep the lines whose condition holds, join backslash
continuations, substitute ``{...}``, convert. A value whose every line is conditioned away counts as unset,
so the ``[testenv]`` value (or the default) applies. TOML values are native; nixtox also accepts tox-style
conditional strings inside TOML lists (``deps = ["pytest", "py311: tomli"]``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from nixtox.errors import ConfigError

from ._convert import convert
from ._factors import active_factors, expand_factors, filter_for_env, interpreter_request, matches
from ._keys import Key, Scope, lookup
from ._override import Override, layered, override_error
from ._sources import RawConfig, RawSection, core_sections, env_sections
from ._subst import Substitutions, paths_relative_to
from ._toml import TomlReplacements

__all__ = ["Resolver", "Resolvers", "stringify"]

_COMMENT: Final = re.compile(r"(\s)*(?<!\\)#.*")
_SECTION_REF: Final = re.compile(r"^\[(?P<section>[^\]]*)\](?P<key>.+)$")
_MAX_DEPTH: Final = 60
_LIST_KINDS: Final = frozenset({"list", "words", "lines", "env_list"})
#: tox constants about the env's interpreter: nixtox knows it only after the lock stage
#: (``{env_site_packages_dir}`` is not one: the env dir's ``site-packages`` link stands for it)
_AFTER_LOCK: Final = frozenset(
    {
        "env_site_packages_dir_plat", "envsitepackagesdir_plat", "py_dot_ver", "py_impl",
        "py_free_threaded", "py_debug",
    }
)  # fmt: skip
#: env keys whose default is the core section's value of the same key
_CORE_DEFAULTED: Final = frozenset({"skip_missing_interpreters", "parallel_show_output"})
_PATH_DEFAULTS: Final = frozenset(
    {
        "change_dir",
        "tox_root",
        "package_root",
        "work_dir",
        "temp_dir",
        "env_dir",
        "env_tmp_dir",
        "env_log_dir",
    }
)


def process_ini(value: str, env_name: str | None) -> str | None:
    """tox's ``IniLoader.process_raw``; None when every line was conditioned away."""
    lines = [
        _COMMENT.sub("", line).replace("\\#", "#") for line in value.split("\n") if not line.startswith("#")
    ]
    stripped = "\n".join(lines).replace("\r", "")
    filtered = filter_for_env(stripped, env_name)
    if not filtered and stripped.strip():
        return None
    return filtered.replace("\\\n", "")


def stringify(value: object) -> str:
    """A resolved value as tox prints it (lists one item per line)."""
    from nixtox.model import Command  # noqa: PLC0415 - keep the module import light

    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Command):
        return " ".join(value.as_json())
    if isinstance(value, dict):
        return "\n".join(f"{k}={stringify(v)}" for k, v in value.items())
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in value):
            return "\n".join(f"{k}={v}" for k, v in value)
        return "\n".join(stringify(v) for v in value)
    return "" if value is None else str(value)


class Resolvers:
    """One resolver per env name (None: the core section), sharing the raw config and a depth guard."""

    def __init__(
        self,
        raw: RawConfig,
        posargs: Sequence[str] | None,
        environ: Mapping[str, str] | None = None,
        *,
        overrides: Sequence[Override] = (),
        work_dir: Path | None = None,
    ) -> None:
        self.raw = raw
        self.posargs = None if posargs is None else tuple(posargs)
        #: what ``{env:X}`` reads (default: the process environment)
        self.environ = os.environ if environ is None else environ
        #: ``-x`` values, in the order given
        self.overrides = tuple(overrides)
        #: nixtox's work directory (tox's ``work_dir``): ``--workdir``, else ``.nixtox`` at the root
        self.work_dir = work_dir or raw.root / ".nixtox"
        self.depth = 0
        self._cache: dict[tuple[str | None, str | None], Resolver] = {}

    def __call__(self, env_name: str | None, dir_name: str | None = None) -> Resolver:
        """``dir_name``: the env's own directory under ``.nixtox/envs/`` when an env name has several
        package formats (each format runs apart, possibly at the same time, so each gets its own)."""
        if (env_name, dir_name) not in self._cache:
            self._cache[env_name, dir_name] = Resolver(self, env_name, dir_name=dir_name)
        return self._cache[env_name, dir_name]


class Resolver(TomlReplacements):
    def __init__(
        self,
        owner: Resolvers,
        env_name: str | None,
        packagedef: RawSection | None = None,
        dir_name: str | None = None,
    ) -> None:
        self.owner = owner
        self.raw = owner.raw
        self.env_name = env_name
        self.dir_name = dir_name
        self.scope: Scope = "packagedef" if packagedef else "core" if env_name is None else "env"
        self.sections: list[RawSection] = (
            [packagedef]
            if packagedef
            else core_sections(self.raw)
            if env_name is None
            else env_sections(self.raw, env_name)
        )
        #: where values come from, most specific first: each section with the overrides naming it (an
        #: env's own overrides apply even when the file has no section for it, as in tox)
        self.layers: list[tuple[RawSection | None, tuple[Override, ...]]] = self._layers(packagedef)
        self._values: dict[str, object] = {}
        self._active: set[str] = set()
        self._env_stack: set[str] = set()

    def _layers(self, packagedef: RawSection | None) -> list[tuple[RawSection | None, tuple[Override, ...]]]:
        given = self.owner.overrides
        if packagedef is not None:
            name = next((n for n, s in self.raw.packagedefs.items() if s is packagedef), "")
            return [(packagedef, tuple(o for o in given if o.names_packagedef(name)))]
        if self.env_name is None:
            return [(self.raw.core, tuple(o for o in given if o.is_core))]
        env_name = self.env_name
        own = self.raw.envs.get(env_name)
        layers: list[tuple[RawSection | None, tuple[Override, ...]]] = [
            (own, tuple(o for o in given if o.names_env(env_name)))
        ]
        base_overrides = tuple(o for o in given if o.is_base)
        for section in self.sections:
            if section is own:
                continue
            layers.append((section, base_overrides if section is self.raw.base else ()))
        return layers

    # --- public -----------------------------------------------------------------------------------------

    def is_set(self, name: str) -> bool:
        key = self._key(name)
        overridden = any(o.key in key.names for _section, given in self.layers for o in given)
        return overridden or self._find(key) is not None

    def where(self, name: str) -> str:
        """The title of the section that sets ``name`` (the first section when none does)."""
        found = self._find(self._key(name))
        if found is not None:
            return found[0].title
        return self.sections[0].title if self.sections else self.raw.core.title

    def fail(self, name: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.raw.label}: {self.where(name)} key '{name}': {reason}")

    def get(self, name: str) -> object:
        key = self._key(name)
        if key.name in self._values:
            return self._values[key.name]
        if key.name in self._active or self.owner.depth > _MAX_DEPTH:
            self._fail(key, self.sections[0] if self.sections else self.raw.core, "circular reference")
        self._active.add(key.name)
        self.owner.depth += 1
        try:
            value = self._load(key)
        finally:
            self.owner.depth -= 1
            self._active.discard(key.name)
        self._values[key.name] = value
        return value

    def env_dir(self) -> Path:
        """``{env_dir}``: ``<work dir>/envs/<key>``, the one directory of an (env, format)."""
        from nixtox.model import EnvSpec  # noqa: PLC0415 - keep the module import light

        return self.owner.work_dir / "envs" / (self.dir_name or EnvSpec.key_for(self.env_name or "py", "", 1))

    # --- loading ----------------------------------------------------------------------------------------

    def _key(self, name: str) -> Key:
        key = lookup(self.scope, name)
        if key is None:
            msg = f"internal: undeclared {self.scope} key {name!r}"
            raise KeyError(msg)
        return key

    def _find(self, key: Key) -> tuple[RawSection, str, object] | None:
        for section in self.sections:
            if (found := self._find_in(section, key)) is not None:
                return found
        return None

    def _find_in(self, section: RawSection, key: Key) -> tuple[RawSection, str, object] | None:
        for name in key.names:
            if name not in section.values:
                continue
            value = section.values[name]
            if self.raw.fmt == "ini" and isinstance(value, str):
                processed = process_ini(value, self.env_name) if key.conditional else value
                if processed is None:
                    continue
                return section, name, processed
            return section, name, value
        return None

    def _layered(
        self,
        key: Key,
        read: Callable[[tuple[RawSection, str, object]], Any],
        given: Callable[[Override], Any],
        default: Callable[[], Any],
    ) -> Any:
        """``key``'s value from the layers with their overrides, in tox's order (``_override.layered``)."""
        layers = [
            (
                None if section is None else self._find_in(section, key),
                [o for o in overrides if o.key in key.names],
            )
            for section, overrides in self.layers
        ]
        return layered(layers, read, given, default)

    def _load(self, key: Key) -> object:
        return self._layered(
            key,
            lambda found: self._value(key, found),
            lambda o: self._given(key, o),
            lambda: self._default(key),
        )

    def _given(self, key: Key, override: Override) -> object:
        """An override's text as the key's value: substituted and converted as an ini value is."""
        try:
            return convert(key.kind, self._subs(key).expand(override.value), self.raw.root)
        except ConfigError:
            raise
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise override_error(override, str(exc) or exc.__class__.__name__) from None

    def _value(self, key: Key, found: tuple[RawSection, str, object]) -> object:
        section, name, value = found
        try:
            if self.raw.fmt == "ini" or isinstance(value, str):
                if self.raw.fmt == "toml" and key.kind in _LIST_KINDS and key.conditional:
                    value = filter_for_env(str(value), self.env_name)
                value = self._subs(key).expand(str(value))
            else:
                value = self._toml(self._filter_items(key, value), key, 0)
            return convert(key.kind, value, self.raw.root)
        except ConfigError:
            raise
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            reason = str(exc) or exc.__class__.__name__
            self._fail(key, section, reason, name)
        raise AssertionError  # pragma: no cover - _fail raises

    def _fail(self, key: Key, section: RawSection, reason: str, name: str | None = None) -> None:
        msg = f"{self.raw.label}: {section.title} key '{name or key.name}': {reason}"
        raise ConfigError(msg)

    def _default_base_python(self, env_name: str) -> object:
        """tox: the python the env name names, else ``base_python_file``, else ``default_base_python``."""
        try:
            request = interpreter_request(env_name)
        except ValueError:
            request = None
        if request:
            return (request,)
        files = self.get("base_python_file")
        assert isinstance(files, tuple)
        if not files:
            return self.get("default_base_python")
        try:
            return (python_from_files(self.raw.root, files),)
        except ValueError as exc:
            raise self.fail("base_python_file", str(exc)) from None

    def _default_path(self, name: str) -> Path:
        if name in {"change_dir", "tox_root", "package_root"}:
            return self.raw.root
        if name == "work_dir":
            return self.owner.work_dir
        if name == "temp_dir":
            return self.owner.work_dir / ".tmp"
        env_dir = self.env_dir()
        return {"env_dir": env_dir, "env_tmp_dir": env_dir / "tmp", "env_log_dir": env_dir / "log"}[name]

    def _default(self, key: Key) -> object:
        root = self.raw.root
        if key.name in _PATH_DEFAULTS:
            return self._default_path(key.name)
        if key.name == "base_python" and self.env_name is not None:
            return self._default_base_python(self.env_name)
        if key.name in _CORE_DEFAULTED and self.scope == "env":
            return self.owner(None).get(key.name)
        if key.kind in {"bool", "int", "float"} or key.name == "interpreter_providers":
            return convert(key.kind, key.default, root)
        if key.kind == "path":
            return root
        return convert(key.kind, "" if key.kind in {"str", "dict", "labels"} else [], root)

    def _filter_items(self, key: Key, value: object) -> object:
        """nixtox extension: tox conditions inside TOML string list items."""
        if not isinstance(value, list) or not key.conditional or key.kind == "commands":
            return value
        current = active_factors(self.env_name)
        out: list[object] = []
        for item in value:
            if isinstance(item, str):
                factors, content = next(expand_factors(item))
                if factors is not None:
                    if matches(factors, current):
                        out.append(content)
                    continue
            out.append(item)
        return out

    # --- substitution -----------------------------------------------------------------------------------

    def _subs(self, key: Key | None) -> Substitutions:
        return Substitutions(
            root=self.raw.root,
            posargs=self._posargs(),
            reference=self._reference,
            environ=self._environ,
            quote_posargs=self.raw.fmt == "ini" and key is not None and key.kind == "commands",
        )

    def _posargs(self) -> tuple[str, ...] | None:
        """The positional arguments, paths made relative to change_dir when ``args_are_paths`` (tox)."""
        posargs = self.owner.posargs
        if posargs is None or self.scope != "env" or self._active & {"change_dir", "args_are_paths"}:
            return posargs
        if not self.get("args_are_paths"):
            return posargs
        change_dir = self.get("change_dir")
        assert isinstance(change_dir, Path)
        return paths_relative_to(posargs, change_dir, Path.cwd())

    def _constants(self) -> dict[str, str]:
        root, work_dir = self.raw.root, self.owner.work_dir
        consts = {
            "tox_root": str(root),
            "toxinidir": str(root),
            "work_dir": str(work_dir),
            "toxworkdir": str(work_dir),
            "package_root": str(root),
            "setupdir": str(root),
            "temp_dir": str(work_dir / ".tmp"),
            "config_file_path": str(self.raw.path),
            "tox_root_name": root.name,
            "home": str(Path.home()),
            "on_platform": sys.platform,
            "host_python": sys.executable,
        }
        if self.env_name is not None:
            env_dir = self.env_dir()
            consts.update(
                env_name=self.env_name,
                envname=self.env_name,
                env_dir=str(env_dir),
                envdir=str(env_dir),
                env_tmp_dir=str(env_dir / "tmp"),
                envtmpdir=str(env_dir / "tmp"),
                env_log_dir=str(env_dir / "log"),
                envlogdir=str(env_dir / "log"),
                env_bin_dir=str(env_dir / "bin"),
                envbindir=str(env_dir / "bin"),
                env_python=str(env_dir / "bin" / "python"),
                env_site_packages_dir=str(env_dir / "site-packages"),
                envsitepackagesdir=str(env_dir / "site-packages"),
                envpython=str(env_dir / "bin" / "python"),
            )
        return consts

    def _reference(self, text: str) -> str | None:
        if self.env_name is not None and text in _AFTER_LOCK:
            msg = (
                f"{{{text}}} is not supported by nixtox: it names a fact of the env's interpreter, which "
                "is chosen after the configuration is read"
            )
            raise ValueError(msg)
        match = _SECTION_REF.match(text)
        if match is not None:
            return self._section_reference(match["section"], match["key"])
        consts = self._constants()
        if text in consts:
            return consts[text]
        if self.env_name is not None and text in {"base_python", "basepython"}:
            python = self.get("base_python")
            return str(python[0]) if isinstance(python, tuple) and python else ""
        for resolver in (self, self.owner(None)):
            if lookup(resolver.scope, text) is not None:
                return stringify(resolver.get(text))
        return None

    def _section_reference(self, section_name: str, key_name: str) -> str | None:
        raw = self.raw
        if raw.fmt == "ini":
            section = raw.sections.get(section_name)
        else:
            section = {"env_run_base": raw.base, "": raw.core, "tox": raw.core}.get(section_name)
            if section is None and section_name.startswith("env."):
                section = raw.envs.get(section_name[4:])
        if section is None or key_name not in section.values:
            return None
        value = section.values[key_name]
        if not isinstance(value, str):
            return stringify(value)
        processed = process_ini(value, self.env_name) if raw.fmt == "ini" else value
        self.owner.depth += 1
        try:
            if self.owner.depth > _MAX_DEPTH:
                msg = "substitution nests too deep (circular reference?)"
                raise ValueError(msg)
            return self._subs(None).expand(processed or "")
        finally:
            self.owner.depth -= 1

    def _environ(self, name: str) -> str | None:
        if self.env_name is not None and name not in self._env_stack and "set_env" not in self._active:
            raw_value = self._set_env_raw().get(name)
            if raw_value is not None:
                self._env_stack.add(name)
                try:
                    return self._subs(None).expand(raw_value)
                finally:
                    self._env_stack.discard(name)
        return self.owner.environ.get(name)

    def _set_env_raw(self) -> dict[str, str]:
        """``set_env`` unsubstituted (what ``{env:X}`` of another key reads), overrides applied."""
        raw: dict[str, str] = self._layered(
            self._key("set_env"), lambda found: _raw_pairs(found[2]), lambda o: _raw_pairs(o.value), dict
        )
        return raw


#: what a ``.python-version`` line may say: ``3.12``, ``3.12.1``, ``pypy3.10``, ``cpython3.13t`` ...
_VERSION_LINE: Final = re.compile(
    r"^(?:cpython|pypy|python|py)?-?3(?:\.\d+){0,2}t?(?:-[\w.]+)?$", re.IGNORECASE
)


def python_from_files(root: Path, files: Sequence[str]) -> str:
    """tox's ``base_python_file``: the first version line of the first of ``files`` (under the project
    root) that exists; a file without one, or none existing, is an error."""
    for name in files:
        path = root / name
        if not path.exists():
            continue
        if not path.is_file():
            msg = f"base_python_file: {name!r} is not a regular file"
            raise ValueError(msg)
        lines = (line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines())
        version = next((line for line in lines if line and not line.startswith("#")), None)
        if version is not None:
            if _VERSION_LINE.match(version) is None:
                msg = f"base_python_file: {name!r} does not contain a Python version specifier"
                raise ValueError(msg)
            return version
    msg = f"base_python_file: no valid Python version found in {', '.join(repr(f) for f in files)}"
    raise ValueError(msg)


def _raw_pairs(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items() if isinstance(v, str)}
    if not isinstance(value, str):
        return {}
    pairs = (row.partition("=") for row in value.split("\n"))
    return {k.strip(): v.strip() for k, sep, v in pairs if sep}
