"""Hypothesis properties of factor expansion and condition filtering, plus differential checks against
the installed tox 4 (the reference implementation)."""

from __future__ import annotations

import math
import platform
import sys
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from nixtox.config._factors import expand_env_names, filter_for_env, interpreter_request

factor = st.from_regex(r"[a-z][a-z0-9]{0,4}", fullmatch=True)
group = st.lists(factor, min_size=1, max_size=4)


def _render(groups: list[list[str]]) -> str:
    return "-".join("{" + ",".join(g) + "}" if len(g) > 1 else g[0] for g in groups)


@given(st.lists(st.lists(factor, min_size=1, max_size=4, unique=True), min_size=1, max_size=3))
def test_product_size_and_order(groups: list[list[str]]) -> None:
    names = expand_env_names(_render(groups))
    expected = list(dict.fromkeys("-".join(p) for p in product(*groups)))
    assert names == expected
    if len(expected) == len(set(expected)) and len(expected) == math.prod(len(g) for g in groups):
        assert len(names) == math.prod(len(g) for g in groups)


@given(st.lists(st.lists(group, min_size=1, max_size=3), min_size=1, max_size=4))
def test_no_duplicates_first_seen(exprs: list[list[list[str]]]) -> None:
    names = expand_env_names(", ".join(_render(e) for e in exprs))
    assert len(names) == len(set(names))
    flat = [n for e in exprs for n in ("-".join(p) for p in product(*e))]
    assert names == list(dict.fromkeys(flat))


condition = st.lists(
    st.lists(st.tuples(factor, st.booleans()), min_size=1, max_size=3), min_size=1, max_size=3
)


@given(condition, st.lists(factor, min_size=1, max_size=4))
def test_condition_filter_matches_reference_model(cond: list[list[tuple[str, bool]]], env: list[str]) -> None:
    text = ",".join("-".join(("!" if neg else "") + f for f, neg in g) for g in cond)
    name = "-".join(env)
    current = set(env)
    current |= {sys.platform, platform.machine().lower()}
    wanted = any(all((f in current) ^ neg for f, neg in g) for g in cond)
    got = filter_for_env(f"{text}: VALUE\nplain", name)
    assert got == ("VALUE\nplain" if wanted else "plain")


# --- differential: same answers as the installed tox --------------------------------------------------

try:
    from tox.config.loader.ini.factor import extend_factors as tox_extend
    from tox.config.loader.ini.factor import filter_for_env as tox_filter
    from tox.tox_env.python.api import Python as ToxPython
except ImportError:  # pragma: no cover - tox is a test dependency
    tox_extend = None

expression = st.from_regex(r"[a-z0-9!{},. \-]{1,24}", fullmatch=True)


@settings(max_examples=300)
@given(expression)
def test_env_list_expansion_same_as_tox(expr: str) -> None:
    try:
        expected: list[str] | None = list(dict.fromkeys(n for n in tox_extend(expr) if n))
    except ValueError:
        expected = None
    try:
        got: list[str] | None = expand_env_names(expr)
    except ValueError:
        got = None
    assert got == expected


line = st.from_regex(r"[a-z0-9!{},:. \-]{0,20}", fullmatch=True)


@settings(max_examples=300)
@given(
    st.lists(line, min_size=1, max_size=5),
    st.from_regex(r"[a-z0-9]{1,4}(-[a-z0-9]{1,4}){0,2}", fullmatch=True),
)
def test_filter_same_as_tox(lines: list[str], env: str) -> None:
    value = "\n".join(lines)
    assert filter_for_env(value, env) == tox_filter(value, env)


@given(st.from_regex(r"(py|pypy|cpython|[a-z]{1,3})?[0-9.]{0,5}t?(-[a-z0-9.]{1,5}){0,2}", fullmatch=True))
def test_interpreter_request_same_as_tox(name: str) -> None:
    try:
        expected: str | None = ToxPython.extract_base_python(name)
    except ValueError:
        expected = "error"
    try:
        got: str | None = interpreter_request(name)
    except ValueError:
        got = "error"
    assert got == expected
