"""tox's env directory layout over a store path: links, a fresh tmp per run, the work dir's tags."""

from __future__ import annotations

import os
from pathlib import Path

from nixtox.run import prepare_env_dir


def _store_env(tmp_path: Path) -> Path:
    env = tmp_path / "store" / "abc-nixtox-env-py312"
    (env / "bin").mkdir(parents=True)
    (env / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return env


def test_the_env_dir_links_the_store_env_like_a_venv(tmp_path: Path) -> None:
    env = _store_env(tmp_path)
    env_dir = tmp_path / "proj" / ".nixtox" / "envs" / "py312"
    prepare_env_dir(env_dir, env)
    assert (env_dir / "bin").resolve() == env / "bin"
    assert (env_dir / "pyvenv.cfg").resolve() == env / "pyvenv.cfg"
    assert (env_dir / "site-packages").resolve() == env / "lib" / "python3.12" / "site-packages"
    assert not (env_dir / "include").exists()
    assert (env_dir / "tmp").is_dir()
    assert (env_dir / "log").is_dir()
    work = env_dir.parent.parent
    assert (work / ".gitignore").read_text() == "*\n"
    assert (work / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (work / ".tmp").is_dir()


def test_tmp_is_emptied_for_every_run_and_links_follow_a_rebuilt_env(tmp_path: Path) -> None:
    first, second = _store_env(tmp_path / "a"), _store_env(tmp_path / "b")
    env_dir = tmp_path / "proj" / ".nixtox" / "envs" / "py312"
    prepare_env_dir(env_dir, first)
    (env_dir / "tmp" / "left-over").write_text("x")
    (env_dir / "log" / "1-commands[0].log").write_text("kept for the log writer")
    prepare_env_dir(env_dir, second)
    assert list((env_dir / "tmp").iterdir()) == []
    assert (env_dir / "bin").resolve() == second / "bin"
    assert os.readlink(env_dir / "lib") == str(second / "lib")
    assert (env_dir / "log" / "1-commands[0].log").exists()
