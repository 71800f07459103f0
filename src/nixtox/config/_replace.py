"""tox 4's TOML ``replace = "if"`` conditions and ``replace = "glob"`` matches, as plain functions.

A condition is a Python-like expression over ``factor.NAME`` (the env name has that factor),
``env.NAME`` (a variable's value, "" when unset), ``env_name`` and string constants, joined with
``and``/``or``/``not`` and compared with ``==``/``!=``; anything else is an error, as in tox.
"""

from __future__ import annotations

import ast
import glob
import os
from collections.abc import Callable, Collection
from pathlib import Path

__all__ = ["condition_holds", "glob_matches"]

_Value = str | bool


def condition_holds(
    condition: str, *, factors: Collection[str], env_name: str | None, environ: Callable[[str], str | None]
) -> bool:
    """Whether a ``replace = "if"`` condition holds for an env (ValueError names what is wrong)."""
    try:
        tree = ast.parse(condition, mode="eval")
    except SyntaxError:
        msg = f"invalid condition expression: {condition}"
        raise ValueError(msg) from None
    return bool(_Evaluator(condition, factors, env_name, environ).value(tree.body))


class _Evaluator:
    def __init__(
        self,
        text: str,
        factors: Collection[str],
        env_name: str | None,
        environ: Callable[[str], str | None],
    ) -> None:
        self.text = text
        self.factors = factors
        self.env_name = env_name
        self.environ = environ

    def value(self, node: ast.expr) -> _Value:  # noqa: PLR0911 - one branch per node kind
        if isinstance(node, ast.BoolOp):
            values = (bool(self.value(v)) for v in node.values)
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.value(node.operand)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id == "env_name":
            return self.env_name or ""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self._lookup(node.value.id, node.attr)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            return self._lookup(node.value.id, node.slice.value)
        msg = f"unsupported expression {ast.unparse(node)!r} in condition {self.text!r}"
        raise ValueError(msg)

    def _compare(self, node: ast.Compare) -> bool:
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            msg = f"unsupported comparison in condition {self.text!r} (use one == or !=)"
            raise ValueError(msg)
        left, right = self.value(node.left), self.value(node.comparators[0])
        return (left == right) if isinstance(node.ops[0], ast.Eq) else (left != right)

    def _lookup(self, namespace: str, key: str) -> _Value:
        if namespace == "factor":
            return key in self.factors
        if namespace == "env":
            return self.environ(key) or ""
        msg = f"unsupported namespace {namespace!r} in condition {self.text!r} (expected env or factor)"
        raise ValueError(msg)


def glob_matches(pattern: str, root: Path) -> list[str]:
    """Paths matching ``pattern`` (relative to the project root; ``**`` recurses), sorted."""
    if not pattern:
        msg = "replace = 'glob' needs a pattern"
        raise ValueError(msg)
    if not os.path.isabs(pattern):
        pattern = str(Path(glob.escape(str(root))) / pattern)
    return sorted(glob.glob(pattern, recursive=True))
