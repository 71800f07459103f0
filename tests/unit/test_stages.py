"""The pipeline's contracts: the stage tuple, facts decided once, one place where a failure ends an env,
and no declared key without a reader."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nixtox import session
from nixtox.config import load_project
from nixtox.config._keys import CORE_KEYS, ENV_KEYS
from nixtox.errors import ConfigError, EnvSelectionError, InterpreterNotFound, LockError
from nixtox.model import CoreConfig, EnvConfig, Envs, Status
from nixtox.run._commands import _stop
from nixtox.select import Selection, select_envs
from tests.unit._values import spec

from .conftest import ProjectFactory

SRC = Path(__file__).resolve().parents[2] / "src" / "nixtox"


def test_the_run_is_the_stage_tuple() -> None:
    names = [stage.__name__ for stage in session.RUN]
    assert names == ["load", "expand", "select", "lock", "render", "realise", "run", "report"]
    assert session.RUN[:6] == session.PREPARE
    assert session.RUN[:4] == session.LOCK


def test_a_failure_ends_one_env_and_the_others_go_on() -> None:
    a, b, c = spec("a"), spec("b"), spec("c")
    envs = Envs(project=None, selected=(a, b, c), live=(a, b, c))  # type: ignore[arg-type]

    def step(env):  # type: ignore[no-untyped-def]
        if env.name == "b":
            raise LockError("b is stale")
        return env

    out = envs.map(step)
    assert [e.name for e in out.live] == ["a", "c"]
    assert out.ended["b"].status == Status.ERROR
    assert out.ended["b"].reason == "b is stale"
    assert set(out.seconds) == {"a", "b", "c"}


def test_missing_interpreter_is_a_skip_only_where_the_env_says_so() -> None:
    skipping = spec("a", skip_missing_interpreters=True)
    strict = spec("b")
    missing = InterpreterNotFound("no interpreter for py399")
    assert Envs.end(skipping, missing).status == Status.SKIP
    assert Envs.end(strict, missing).status == Status.ERROR
    assert Envs.end(skipping, LockError("stale")).status == Status.ERROR


def test_per_env_skip_missing_interpreters_overrides_the_core(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "tox.ini": """
            [tox]
            skip_missing_interpreters = true
            env_list = a, b
            [testenv:b]
            skip_missing_interpreters = false
            """
        }
    )
    by_name = {s.name: s for s in load_project(root).envs}
    assert by_name["a"].config.skip_missing_interpreters is True
    assert by_name["b"].config.skip_missing_interpreters is False


def test_package_facts_are_decided_once_by_expand(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "pyproject.toml": "[project]\nname = 'p'\nversion = '1'\n",
            "tox.ini": """
            [tox]
            env_list = a, b, c, d
            [packagedef:fast]
            format = wheel
            build_interpreter = py312
            [testenv:a]
            skip_install = true
            package_formats = sdist wheel
            [testenv:b]
            packagedef = fast
            [testenv:c]
            package = deps-only
            [testenv:d]
            usedevelop = true
            """,
        }
    )
    specs = {s.name: s for s in load_project(root).envs}
    assert (specs["a"].package_format, specs["a"].installs_package) == ("skip", False)
    assert specs["b"].package_format == "wheel"
    assert specs["b"].build_python == "py312"
    assert specs["b"].packagedef is not None
    assert (specs["c"].package_format, specs["c"].installs_package) == ("skip", False)
    assert specs["d"].package_format == "editable"
    assert specs["d"].env_dir == root / ".nixtox" / "envs" / "d"


def test_env_names_that_share_a_key_are_refused(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = a_b, a.b\n"})
    with pytest.raises(ConfigError, match=r"envs 'a_b' and 'a.b' both map to the key 'a_b'"):
        load_project(root)


def test_a_unicode_env_name_gets_an_ascii_key(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = caf\u00e9\n"})
    (env,) = load_project(root).envs
    assert env.key == "caf_"
    assert env.key.isascii()


def test_adhoc_envs_use_the_environ_the_project_was_expanded_with(
    nixtox_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = nixtox_project({"tox.ini": "[tox]\nenv_list = py312\n[testenv]\nset_env = T = {env:TOKEN:none}\n"})
    monkeypatch.setenv("TOKEN", "secret")
    project = load_project(root, environ={})
    (adhoc,) = select_envs(project, Selection(env="py313"))
    assert dict(adhoc.config.set_env) == {"T": "none"}


def test_a_depends_cycle_is_an_error_before_anything_is_locked(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {"tox.ini": "[tox]\nenv_list = a, b\n[testenv:a]\ndepends = b\n[testenv:b]\ndepends = a\n"}
    )
    called: list[str] = []
    stages = (session.load, session.expand, session.select, lambda *_: called.append("lock"))
    with pytest.raises(EnvSelectionError, match="depends forms a cycle"):
        session.execute(stages, session.Session(session.RunOptions(path=root)))
    assert called == []


#: acted keys decided while expanding the matrix (they become EnvSpec fields, not EnvConfig ones)
_DECIDED_IN_EXPAND = {
    "skip_install": "installs_package",
    "package": "package_format",
    "package_formats": "package_format",
    "exclude_package_formats": "package_format",
    "use_develop": "package_format",
    "base_python": "python",
    "default_base_python": "python",
    "build_interpreter": "build_python",
    "packagedef": "packagedef",
}
#: core keys whose CoreConfig field has another name
_CORE_FIELDS = {"skip_sdist": "no_package"}
#: keys the config loader itself acts on (where they are read): the sections an env inherits from, how
#: ``{posargs}`` is substituted
_STRUCTURE = {"base": "config/_sources.py", "args_are_paths": "config/_resolve.py"}


def _source_outside_config() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8") for path in SRC.rglob("*.py") if "config" not in path.parts
    )


def test_every_env_key_declared_as_acted_on_has_a_typed_field_and_a_reader() -> None:
    readers = _source_outside_config()
    fields = set(EnvConfig.__dataclass_fields__)
    for key in ENV_KEYS:
        if not key.acted:
            continue
        if key.name in _STRUCTURE:
            assert f'"{key.name}"' in (SRC / _STRUCTURE[key.name]).read_text(encoding="utf-8")
            continue
        name = _DECIDED_IN_EXPAND.get(key.name, key.name)
        if key.name not in _DECIDED_IN_EXPAND:
            assert name in fields, f"{key.name} is declared as acted on but EnvConfig has no field for it"
        assert re.search(rf"\.{name}\b", readers), f"{key.name} is declared as acted on but nothing reads it"


def test_every_core_key_declared_as_acted_on_has_a_reader() -> None:
    readers = _source_outside_config() + (SRC / "config" / "_expand.py").read_text(encoding="utf-8")
    fields = set(CoreConfig.__dataclass_fields__)
    for key in CORE_KEYS:
        if not key.acted:
            continue
        if key.name in _STRUCTURE:
            assert f'"{key.name}"' in (SRC / _STRUCTURE[key.name]).read_text(encoding="utf-8")
            continue
        name = _CORE_FIELDS.get(key.name, key.name)
        assert name in fields or name in {"substituters", "trusted_public_keys", "push_to", "secret_key_file"}
        assert re.search(rf"\.{name}\b", readers), f"{key.name} is declared as acted on but nothing reads it"


def test_suicide_timeout_lets_a_command_exit_on_its_own_first() -> None:
    code = textwrap.dedent(
        """
        import signal, sys, time
        signal.signal(signal.SIGINT, lambda *_: sys.exit(42))
        time.sleep(0.3)
        sys.exit(7)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    time.sleep(0.1)
    _stop(proc, spec(suicide_timeout=2.0))  # type: ignore[arg-type]
    assert proc.returncode == 7  # exited by itself: no SIGINT was sent
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    time.sleep(0.1)
    _stop(proc, spec())  # type: ignore[arg-type]
    assert proc.returncode == 42  # interrupted at once


def test_the_project_named_in_deps_is_installed_with_its_extras(nixtox_project: ProjectFactory) -> None:
    root = nixtox_project(
        {
            "pyproject.toml": "[project]\nname = 'p'\nversion = '1'\n",
            "tox.ini": """
            [tox]
            env_list = a, b, c
            [testenv:a]
            skip_install = true
            deps = .[test]
                pytest
            [testenv:b]
            skip_install = true
            deps = -e {toxinidir}[dev,test]
            [testenv:c]
            package = wheel
            extras = docs
            deps = .[test]
            """,
        }
    )
    specs = {s.name: s for s in load_project(root).envs}
    assert (specs["a"].package_format, specs["a"].config.extras, specs["a"].config.deps) == (
        "wheel",
        ("test",),
        ("pytest",),
    )
    assert (specs["b"].package_format, specs["b"].config.extras) == ("editable", ("dev", "test"))
    assert (specs["c"].package_format, specs["c"].config.extras, specs["c"].config.deps) == (
        "wheel",
        ("docs", "test"),
        (),
    )
