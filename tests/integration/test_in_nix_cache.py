"""Test results travel through a binary cache: machine A runs ``--in-nix`` and pushes; machine B (a fresh
copy of the project, a fresh store: ``NIXTOX_NIX_STORE``) prints A's results and runs nothing."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration._machines import path_info
from tests.integration._nixtox import make_project, nixtox, results

pytestmark = [pytest.mark.nix, pytest.mark.usefixtures("nix_required")]

TOX_INI = """\
[tox]
env_list = py3{11,12}

[testenv]
run_in = nix
deps = pytest
commands = pytest -q -p no:cacheprovider tests
"""


def _report(root: Path, *args: str, env: dict[str, str]) -> tuple[str, dict[str, dict[str, Any]]]:
    path = root.parent / f"result-{uuid.uuid4().hex[:6]}.json"
    done = nixtox(root, "run", "--result-json", str(path), *args, extra_env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr, results(path)


def test_a_second_fresh_store_gets_the_results_from_the_cache_without_running(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert nixtox(tmp_path, "cache", "keygen", "results-1", "--dir", str(keys)).returncode == 0
    cache = tmp_path / "cache"
    a = make_project(tmp_path / "a", "hatchling_proj", TOX_INI)
    (a / "src" / "hatchling_proj" / "_fresh.py").write_text(f"# {uuid.uuid4()}\n")
    push = {"NIXTOX_PUSH_TO": f"file://{cache}", "NIXTOX_SECRET_KEY_FILE": str(keys / "results-1.sec")}
    said, ran_in_a = _report(a, "--push", env=push)
    assert "2 test result(s)" in said
    assert list(cache.glob("nar/*.nar.zst"))  # zstd: an interpreter's 100 MB in seconds, not minutes
    assert not any(env["result_cached"] for env in ran_in_a.values())
    # B: a fresh clone, a fresh store, the same cache
    b = tmp_path / "b" / a.name
    shutil.copytree(a, b, ignore=shutil.ignore_patterns(".nixtox", "__pycache__"))
    store = tmp_path / "store-b"
    pull = {
        "NIXTOX_NIX_STORE": str(store),
        "NIXTOX_SUBSTITUTERS": f"file://{cache}",
        "NIXTOX_TRUSTED_PUBLIC_KEYS": (keys / "results-1.pub").read_text().strip(),
    }
    said, in_b = _report(b, env=pull)
    assert "built 0 derivations" in said
    for label, env in in_b.items():
        first = ran_in_a[label]
        assert env["result_cached"], label
        assert env["result_path"] == first["result_path"]
        assert env["ran_at"] == first["ran_at"]  # A's run, not a new one
        assert env["test"][0]["output"] == first["test"][0]["output"]
        info = path_info(store, [env["result_path"]])[env["result_path"]]
        assert "ultimate" not in info  # fetched, not built
        assert not (store / env["store_path"].lstrip("/")).exists()  # the result needed no env
    assert "cached: ran in Nix on this machine at" in said
    # and then B's own state answers, without Nix
    said, again = _report(b, env=pull)
    assert all(env["result_cached"] for env in again.values())
    assert "built 0" not in said


def test_cache_push_pushes_the_recorded_results(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert nixtox(tmp_path, "cache", "keygen", "push-1", "--dir", str(keys)).returncode == 0
    root = make_project(tmp_path, "hatchling_proj", TOX_INI)
    (root / "src" / "hatchling_proj" / "_fresh.py").write_text(f"# {uuid.uuid4()}\n")
    _, envs = _report(root, "-e", "py312", env={})
    cache = tmp_path / "cache"
    pushed = nixtox(
        root, "cache", "push", "-e", "py312", "--to", f"file://{cache}",
        "--secret-key-file", str(keys / "push-1.sec"),
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "1 test result(s)" in pushed.stderr
    result = envs["py312"]["result_path"]
    narinfo = cache / f"{Path(result).name.split('-', 1)[0]}.narinfo"
    assert narinfo.is_file()
    assert "References: \n" in narinfo.read_text() or "References:\n" in narinfo.read_text()
    state = json.loads((root / ".nixtox" / "state.json").read_text())
    assert state["checks"]["py312"]["result_path"] == result
