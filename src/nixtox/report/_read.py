"""Reading a result JSON (nixtox's or tox's own) for ``nixtox report``: one clear error, never a traceback.

tox's file also holds packaging envs (``.pkg``, no ``result``) and, for envs of ``env_list`` that were
not run, empty objects; the reports show the envs that have a ``result``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from nixtox.errors import NixtoxError

__all__ = ["load_result", "run_envs"]

_HINT = "pass the file `nixtox run --result-json` or `tox run --result-json` wrote"
_NUMBER = (int, float)


def run_envs(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The envs that ran (have a ``result``), by label, in file order."""
    envs = data.get("testenvs") or {}
    return {label: env for label, env in envs.items() if isinstance(env, Mapping) and "result" in env}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


class _Checker:
    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, where: str, value: object, wanted: str) -> NoReturn:
        shown = json.dumps(value)[:40] if not isinstance(value, (dict, list)) else _kind(value)
        raise NixtoxError(f"{self.source}: `{where}` is {shown}, expected {wanted}; {_HINT}")

    def field(
        self, parent: Mapping[str, Any], key: str, where: str, ok: Callable[[Any], bool], wanted: str
    ) -> Any:
        value = parent.get(key)
        if key in parent and not ok(value):
            self.fail(f"{where}.{key}", value, wanted)
        return value

    def records(self, env: Mapping[str, Any], key: str, where: str) -> None:
        records = self.field(env, key, where, lambda v: isinstance(v, list), "a list")
        for index, record in enumerate(records or []):
            at = f"{where}.{key}[{index}]"
            if not isinstance(record, dict):
                self.fail(at, record, "an object")
            self.field(record, "command", at, lambda v: isinstance(v, list), "a list of strings")
            self.field(
                record,
                "retcode",
                at,
                lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
                "an integer",
            )
            for name in ("elapsed", "start", "end"):
                self.field(record, name, at, lambda v: v is None or isinstance(v, _NUMBER), "a number")
            self.field(record, "output", at, lambda v: v is None or isinstance(v, str), "a string")

    def env(self, label: str, env: object) -> None:
        where = f"testenvs.{label}"
        if not isinstance(env, dict):
            self.fail(where, env, "an object (one env)")
        result = self.field(env, "result", where, lambda v: isinstance(v, dict), "an object")
        if result is not None:
            at = f"{where}.result"
            self.field(result, "success", at, lambda v: isinstance(v, bool), "true or false")
            self.field(result, "exit_code", at, lambda v: v is None or isinstance(v, int), "an integer")
            self.field(result, "duration", at, lambda v: v is None or isinstance(v, _NUMBER), "a number")
        for key in ("test", "setup"):
            self.records(env, key, where)
        self.field(env, "python", where, lambda v: v is None or isinstance(v, dict), "an object")
        self.field(env, "installed_packages", where, lambda v: v is None or isinstance(v, list), "a list")


def load_result(path: Path) -> dict[str, Any]:
    """The parsed document, after checking the types of every field the reports read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NixtoxError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NixtoxError(f"{path} is not UTF-8 text (byte {exc.start}); {_HINT}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NixtoxError(f"{path} is not JSON ({exc}); {_HINT}") from None
    if not isinstance(data, dict):
        raise NixtoxError(f"{path} holds {_kind(data)}, not a result object; {_HINT}")
    if not isinstance(data.get("testenvs"), dict):
        raise NixtoxError(f"{path} has no `testenvs` object; {_HINT}")
    checker = _Checker(path)
    for label, env in data["testenvs"].items():
        checker.env(str(label), env)
    return data
