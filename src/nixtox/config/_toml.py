"""tox 4's TOML replace tables (``{replace = "posargs" | "env" | "ref" | "if" | "glob", ...}``), for
``Resolver``: a TOML value with its replacements resolved, before conversion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._factors import active_factors
from ._keys import Key, lookup
from ._replace import condition_holds, glob_matches

if TYPE_CHECKING:
    from ._resolve import Resolvers
    from ._sources import RawConfig
    from ._subst import Substitutions

__all__ = ["TomlReplacements", "as_toml"]

_MAX_DEPTH = 60


class TomlReplacements:
    """The replace tables of a ``Resolver`` (which supplies what is declared here)."""

    if TYPE_CHECKING:
        owner: Resolvers
        raw: RawConfig
        env_name: str | None
        _subs: Callable[[Key | None], Substitutions]
        _environ: Callable[[str], str | None]
        _filter_items: Callable[[Key, object], object]

    def _toml(self, value: object, key: Key, depth: int) -> object:
        if depth > _MAX_DEPTH:
            msg = "replacements nest too deep (circular reference?)"
            raise ValueError(msg)
        if isinstance(value, str):
            return self._subs(key).expand(value)
        if isinstance(value, list):
            out: list[object] = []
            for item in value:
                got = self._toml(item, key, depth + 1)
                replaced = isinstance(item, dict) and item.get("replace")
                if replaced and isinstance(got, list):
                    out.extend(got)
                elif replaced and item.get("extend") and isinstance(got, str):
                    out.extend([got] if got else [])  # tox: an empty `if` result adds nothing
                else:
                    out.append(got)
            return out
        if isinstance(value, dict):
            return self._toml_table(value, key, depth)
        return value

    def _toml_table(self, value: dict[str, object], key: Key, depth: int) -> object:
        kind = value.get("replace")
        if kind is None:
            return {k: self._toml(v, key, depth + 1) for k, v in value.items()}
        if "marker" in value:
            msg = "a replace table with a marker is not supported by nixtox (write the marker into the value)"
            raise ValueError(msg)
        handlers = {
            "posargs": self._toml_posargs,
            "env": self._toml_env,
            "ref": lambda v, k, d: self._toml(self._toml_ref(v, k), k, d + 1),
            "if": lambda v, k, d: self._toml(self._toml_if(v), k, d + 1),
            "glob": self._toml_glob,
        }
        handler = handlers.get(str(kind))
        if handler is None:
            msg = f"unsupported replace = {kind!r} (nixtox knows {', '.join(handlers)})"
            raise ValueError(msg)
        return handler(value, key, depth)

    def _toml_posargs(self, value: dict[str, object], key: Key, depth: int) -> object:
        if self.owner.posargs is not None:
            return list(self.owner.posargs)
        return self._toml(value.get("default", []), key, depth + 1)

    def _toml_env(self, value: dict[str, object], key: Key, depth: int) -> object:
        name = value.get("name")
        if not isinstance(name, str):
            msg = "replace = 'env' needs name = '...'"
            raise ValueError(msg)
        found = self._environ(name)
        return found if found is not None else self._toml(value.get("default", ""), key, depth + 1)

    def _toml_if(self, value: dict[str, object]) -> object:
        """tox 4.25's ``{replace = "if", condition = "...", then = ..., else = ...}``."""
        condition = value.get("condition")
        if not isinstance(condition, str) or not condition:
            msg = "replace = 'if' needs condition = '...'"
            raise ValueError(msg)
        if "then" not in value:
            msg = "replace = 'if' needs then = ..."
            raise ValueError(msg)
        holds = condition_holds(
            condition, factors=active_factors(self.env_name), env_name=self.env_name,
            environ=self.owner.environ.get,
        )  # fmt: skip
        return value["then"] if holds else value.get("else", "")

    def _toml_glob(self, value: dict[str, object], key: Key, depth: int) -> object:
        """``{replace = "glob", pattern = "...", default = ..., extend = true}``: the matching paths
        (a list with ``extend``, else joined with spaces), or the default when none matches."""
        pattern = self._toml(value.get("pattern", ""), key, depth + 1)
        if not isinstance(pattern, str):
            msg = "replace = 'glob' needs pattern = '...'"
            raise ValueError(msg)
        matches = glob_matches(pattern, self.raw.root)
        extend = bool(value.get("extend"))
        if matches:
            return matches if extend else " ".join(matches)
        if "default" not in value:
            return [] if extend else ""
        return self._toml(value["default"], key, depth + 1)

    def _toml_ref(self, value: dict[str, object], key: Key) -> object:
        env, ref_key, of = value.get("env"), value.get("key"), value.get("of")
        if isinstance(env, str) and isinstance(ref_key, str):
            if lookup("env", ref_key) is None:
                msg = f"reference to unknown key {ref_key!r}"
                raise ValueError(msg)
            return as_toml(self.owner(env).get(ref_key))
        if isinstance(of, list) and of and all(isinstance(p, str) for p in of):
            node: object = {
                "env_run_base": self.raw.base.values,
                **self.raw.core.values,
                "env": {n: s.values for n, s in self.raw.envs.items()},
            }
            for part in of:
                if not isinstance(node, dict) or part not in node:
                    msg = f"reference {'.'.join(map(str, of))} not found"
                    raise ValueError(msg)
                node = node[part]
            return self._filter_items(key, node)
        msg = "replace = 'ref' needs env + key, or of = [...]"
        raise ValueError(msg)


def as_toml(value: object) -> object:
    from nixtox.model import Command  # noqa: PLC0415

    if isinstance(value, tuple):
        if value and all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str) for i in value):
            return dict(value)
        return [as_toml(v) for v in value]
    if isinstance(value, Command):
        return value.as_json()
    if isinstance(value, Path):
        return str(value)
    return value
