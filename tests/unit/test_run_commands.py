"""Command semantics of the run stage, against a fake env dir (a bin/ with scripts) and real processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nixtox.model import Command
from nixtox.run import command_environ, pycache_dir
from nixtox.run._commands import NOT_RUNNABLE, run_commands
from tests.unit._values import spec


@pytest.fixture
def store(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    script = env / "bin" / "say"
    script.write_text(
        f"#!{sys.executable}\nimport sys, os\nprint(' '.join(sys.argv[1:]))\nsys.exit(int(os.environ.get('SAY_EXIT', '0')))\n"
    )
    script.chmod(0o755)
    fail = env / "bin" / "fail"
    fail.write_text("#!/bin/sh\necho failing\nexit 3\n")
    fail.chmod(0o755)
    return env


def _run(store: Path, tmp_path: Path, **kwargs: object) -> list[tuple[str, str, int]]:
    env_spec = spec(**kwargs)  # type: ignore[arg-type]
    environ = command_environ(
        env_spec,
        store_path=store,
        env_dir=tmp_path / "envdir",
        hash_seed="7",
        environ={"PATH": "/usr/bin:/bin"},
    )
    lines: list[str] = []
    ran = run_commands(env_spec, environ=environ, store_path=store, cwd=tmp_path, sink=lines.append)
    return [(o.phase, " ".join(o.command.argv), o.exit_code) for o in ran.outcomes]


def cmd(*argv: str, ignore: bool = False, invert: bool = False) -> Command:
    return Command(argv, ignore_exit_code=ignore, invert_exit_code=invert)


def test_runs_pre_main_post_in_order(store: Path, tmp_path: Path) -> None:
    ran = _run(
        store,
        tmp_path,
        commands_pre=(cmd("say", "pre"),),
        commands=(cmd("say", "a"), cmd("say", "b")),
        commands_post=(cmd("say", "post"),),
    )
    assert ran == [
        ("commands_pre", "say pre", 0),
        ("commands", "say a", 0),
        ("commands", "say b", 0),
        ("commands_post", "say post", 0),
    ]


def test_failure_stops_main_commands_but_post_still_runs(store: Path, tmp_path: Path) -> None:
    ran = _run(
        store, tmp_path, commands=(cmd("fail"), cmd("say", "never")), commands_post=(cmd("say", "post"),)
    )
    assert ran == [("commands", "fail", 3), ("commands_post", "say post", 0)]


def test_failed_pre_skips_main_commands(store: Path, tmp_path: Path) -> None:
    ran = _run(
        store,
        tmp_path,
        commands_pre=(cmd("fail"),),
        commands=(cmd("say", "main"),),
        commands_post=(cmd("say", "post"),),
    )
    assert [r[1] for r in ran] == ["fail", "say post"]


def test_ignore_errors_keeps_going(store: Path, tmp_path: Path) -> None:
    ran = _run(store, tmp_path, commands=(cmd("fail"), cmd("say", "after")), ignore_errors=True)
    assert [r[1] for r in ran] == ["fail", "say after"]


def test_dash_prefix_ignores_exit_code_and_bang_inverts(store: Path, tmp_path: Path) -> None:
    ran = _run(
        store, tmp_path, commands=(cmd("fail", ignore=True), cmd("fail", invert=True), cmd("say", "end"))
    )
    assert [r[1] for r in ran] == ["fail", "fail", "say end"]


def test_bang_prefix_fails_on_success(store: Path, tmp_path: Path) -> None:
    ran = _run(store, tmp_path, commands=(cmd("say", "ok", invert=True), cmd("say", "never")))
    assert [r[1] for r in ran] == ["say ok"]


def test_program_outside_env_needs_allowlist(store: Path, tmp_path: Path) -> None:
    ran = _run(store, tmp_path, commands=(cmd("true"),))
    assert ran == [("commands", "true", NOT_RUNNABLE)]
    ran = _run(store, tmp_path, commands=(cmd("true"),), allowlist_externals=("true",))
    assert ran == [("commands", "true", 0)]
    ran = _run(store, tmp_path, commands=(cmd("true"),), allowlist_externals=("/usr/bin/*", "/bin/*"))
    assert ran == [("commands", "true", 0)]


def test_missing_program_is_reported_not_raised(store: Path, tmp_path: Path) -> None:
    assert _run(store, tmp_path, commands=(cmd("no-such-program-xyz"),)) == [
        ("commands", "no-such-program-xyz", NOT_RUNNABLE)
    ]


def test_environ_has_env_first_on_path_and_tox_variables(store: Path, tmp_path: Path) -> None:
    env_spec = spec(set_env=(("FOO", "bar"),))
    environ = command_environ(
        env_spec,
        store_path=store,
        env_dir=tmp_path,
        hash_seed="42",
        environ={"PATH": "/bin", "HOME": "/h", "SECRET": "s"},
    )
    assert environ["PATH"].split(":")[0] == str(store / "bin")
    assert environ["VIRTUAL_ENV"] == str(store)
    assert environ["NIXTOX_ENV_NAME"] == environ["TOX_ENV_NAME"] == "py312"
    assert environ["PYTHONHASHSEED"] == "42"
    assert environ["FOO"] == "bar"
    assert environ["HOME"] == "/h"
    assert "SECRET" not in environ


def test_pass_env_globs_are_case_insensitive(tmp_path: Path) -> None:
    environ = command_environ(
        spec(pass_env=("MY_*",)),
        store_path=tmp_path,
        env_dir=tmp_path,
        hash_seed="1",
        environ={"my_token": "t", "MY_OTHER": "o", "NOPE": "n"},
    )
    assert environ["my_token"] == "t"
    assert environ["MY_OTHER"] == "o"
    assert "NOPE" not in environ


def test_pycache_is_seeded_once_with_the_envs_own_bytecode(tmp_path: Path) -> None:
    from nixtox.run import seed_pycache

    env = tmp_path / "store" / "abc-env"
    cache = env / "lib" / "python3.12" / "site-packages" / "pkg" / "__pycache__"
    cache.mkdir(parents=True)
    (cache / "mod.cpython-312.pyc").write_bytes(b"pyc")
    (cache.parent / "mod.py").write_text("x = 1\n")
    prefix = tmp_path / "prefix"
    assert seed_pycache(env, prefix)
    # where Python looks with PYTHONPYCACHEPREFIX: <prefix>/<source dir>/<mod>.<tag>.pyc
    seeded = prefix / str(cache.parent).lstrip("/") / "mod.cpython-312.pyc"
    assert seeded.read_bytes() == b"pyc"
    assert not seed_pycache(env, prefix)  # once per env


def test_commands_write_bytecode_to_the_prefix_not_the_env(store: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "w" / "envs" / "py312"
    given = command_environ(
        spec(), store_path=store, env_dir=env_dir, hash_seed="1", environ={}, bytecode=pycache_dir(env_dir)
    )
    assert given["PYTHONPYCACHEPREFIX"] == str(tmp_path / "w" / "pycache")
    # where the store is read-only for commands they use the env's own bytecode: no prefix
    protected = command_environ(spec(), store_path=store, env_dir=env_dir, hash_seed="1", environ={})
    assert "PYTHONPYCACHEPREFIX" not in protected


def test_env_python_through_the_env_dirs_bin_is_part_of_the_env(store: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "envdir"
    env_dir.mkdir()
    (env_dir / "bin").symlink_to(store / "bin")
    assert _run(store, tmp_path, commands=(cmd(str(env_dir / "bin" / "say"), "hi"),)) == [
        ("commands", f"{env_dir}/bin/say hi", 0)
    ]
