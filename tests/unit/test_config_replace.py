"""``replace = "if"`` conditions and ``replace = "glob"``, against the installed tox's own evaluator."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tox.config.loader.replacer import MatchError
from tox.config.loader.toml._replace import _eval_condition_node

from nixtox.config._replace import condition_holds, glob_matches

from .conftest import ProjectFactory

FACTORS = ("py312", "django", "lint")
_leaf = st.one_of(
    st.sampled_from([f"factor.{f}" for f in (*FACTORS, "other")] + [f"factor['{f}']" for f in FACTORS]),
    st.sampled_from(
        ["env.NIXTOX_COND_SET == 'yes'", "env.NIXTOX_COND_UNSET == ''", "env['NIXTOX_COND_SET']"]
    ),
    st.sampled_from(["env_name == 'py312-django'", "env_name != 'lint'", "'a' == 'a'"]),
)
conditions = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        inner.map(lambda c: f"not {c}"),
    ),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(condition=conditions, env_name=st.sampled_from(["py312-django", "lint", "py311"]))
def test_conditions_evaluate_as_tox_evaluates_them(condition: str, env_name: str) -> None:
    os.environ["NIXTOX_COND_SET"] = "yes"
    os.environ.pop("NIXTOX_COND_UNSET", None)
    factors = set(env_name.split("-"))
    theirs = bool(_eval_condition_node(ast.parse(condition, mode="eval").body, condition, factors, env_name))
    ours = condition_holds(condition, factors=factors, env_name=env_name, environ=os.environ.get)
    assert ours is theirs


@pytest.mark.parametrize("condition", ["factor.a < 1", "a.b", "1 + 2", "factor.a == factor.b == 'x'", "f("])
def test_what_tox_refuses_is_refused(condition: str) -> None:
    with pytest.raises((MatchError, SyntaxError)):
        _eval_condition_node(ast.parse(condition, mode="eval").body, condition, set(), None)
    with pytest.raises(ValueError, match=r"unsupported|invalid condition"):
        condition_holds(condition, factors=set(), env_name=None, environ=os.environ.get)


def test_glob_is_relative_to_the_root_sorted_and_recursive(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "sub/c.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert glob_matches("*.txt", tmp_path) == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert glob_matches("**/*.txt", tmp_path)[-1] == str(tmp_path / "sub" / "c.txt")
    assert glob_matches(str(tmp_path / "sub" / "*"), Path("/elsewhere")) == [str(tmp_path / "sub" / "c.txt")]
    with pytest.raises(ValueError, match="needs a pattern"):
        glob_matches("", tmp_path)


# --- args_are_paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["tests/test_a.py", "-k", "x"],
        ["tests", "missing/path", "--opt=tests"],
        ["run.sh", "tests/test_a.py"],  # a bare executable first: kept (it may be the program)
        ["-weird", "tests/-dash.py"],
        ["", os.sep + "abs"],
    ],
)
def test_positional_paths_are_rewritten_as_tox_rewrites_them(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tox.config.main import Config

    from nixtox.config._subst import paths_relative_to

    (tmp_path / "tests").mkdir()
    for name in ("tests/test_a.py", "tests/-dash.py", "-weird", "run.sh"):
        (tmp_path / name).write_text("")
    (tmp_path / "run.sh").chmod(0o755)
    change_dir = tmp_path / "docs"
    change_dir.mkdir()
    monkeypatch.chdir(tmp_path)
    theirs = tuple(
        Config._rewrite_pos_arg(i, a, os.path.realpath(change_dir), program_first=False)
        for i, a in enumerate(args)
    )
    assert paths_relative_to(args, change_dir, Path.cwd()) == theirs


def test_posargs_follow_change_dir_unless_args_are_paths_is_off(
    nixtox_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nixtox.config import load_project

    root = nixtox_project(
        {
            "tox.ini": "[tox]\nenv_list = a, b\n[testenv]\nchange_dir = docs\ncommands = pytest {posargs}\n"
            "[testenv:b]\nargs_are_paths = false\n",
            "tests/test_x.py": "",
        }
    )
    monkeypatch.chdir(root)
    envs = {s.name: s for s in load_project(root, posargs=["tests/test_x.py"]).envs}
    assert envs["a"].config.commands[0].argv == ("pytest", "../tests/test_x.py")
    assert envs["b"].config.commands[0].argv == ("pytest", "tests/test_x.py")
