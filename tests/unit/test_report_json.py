"""The result JSON: tox 4's keys in tox's order and types, nixtox's added, every key documented."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from nixtox.model import Command
from nixtox.report import result_json
from tests.unit._report_samples import PY312, T0, built_env, make_spec, ok, outcome, sample_results

DOC = Path(__file__).parents[2] / "docs" / "reference" / "result-json.md"


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in ``value``: env labels become ``<label>``, list items ``[]``."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            name = "<label>" if prefix == "testenvs" else key
            path = f"{prefix}.{name}" if prefix else name
            paths |= {path} | key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                paths |= key_paths(item, f"{prefix}[]")
    return paths


def documented_paths() -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))


def sample() -> dict[str, Any]:
    return result_json(sample_results(), seconds=12.5, exit_code=1)


def full_sample(tmp_path: Path) -> dict[str, Any]:
    """The sample plus an env whose store files exist, with logs: every key nixtox can write."""
    spec = make_spec("py312-real")
    logs = tmp_path / ".nixtox" / "envs" / "py312-real" / "log"
    real = dataclasses.replace(ok(spec), realised=built_env(tmp_path, spec), log_dir=logs)
    project = {"name": "demo", "version": None, "commit": "0123abc"}
    return result_json([*sample_results(), real], seconds=12.5, exit_code=1, project=project)


def test_round_trips_through_json() -> None:
    data = sample()
    assert json.loads(json.dumps(data)) == data


def test_every_emitted_key_is_documented_and_every_documented_key_is_emitted(tmp_path: Path) -> None:
    emitted = key_paths(full_sample(tmp_path))
    documented = documented_paths()
    assert emitted - documented == set(), "document these keys in docs/reference/result-json.md"
    assert documented - emitted == set(), "documented keys the sample never emits"


#: what tox 4 writes (tox/journal/, tox/tox_env/python/api.py, tox/session/cmd/run/common.py)
TOX_TOP = ["reportversion", "toxversion", "platform", "host", "testenvs"]
TOX_ENV = ["python", "installpkg", "installed_packages", "result", "test", "setup"]
TOX_PYTHON = [
    "implementation", "version_info", "version", "is_64", "sysplatform", "extra_version_info",
    "free_threaded", "debug", "machine", "executable",
]  # fmt: skip
TOX_RECORD = ["command", "output", "err", "retcode", "elapsed", "show_on_standard", "run_id", "start", "end"]


def test_tox_keys_come_first_in_toxs_order(tmp_path: Path) -> None:
    data = full_sample(tmp_path)
    assert list(data)[: len(TOX_TOP)] == TOX_TOP
    env = data["testenvs"]["py312-real"]
    assert list(env)[: len(TOX_ENV)] == TOX_ENV
    assert list(env["python"])[: len(TOX_PYTHON)] == TOX_PYTHON
    assert list(env["result"])[:4] == ["success", "exit_code", "duration", "skipped"]
    assert list(env["test"][0])[: len(TOX_RECORD)] == TOX_RECORD
    assert list(env["setup"][0]) == TOX_RECORD


def _python(interp: Any) -> dict[str, Any]:
    env: dict[str, Any] = result_json([ok(make_spec("py3x"), interp)], seconds=1, exit_code=0)["testenvs"][
        "py3x"
    ]
    return dict(env["python"])


def test_python_is_described_as_tox_does() -> None:
    markers = (("python_full_version", "3.13.0rc2"), ("platform_python_implementation", "CPython"))
    rc = _python(dataclasses.replace(PY312, marker_env=markers, tags=("cp313-cp313d-manylinux_2_17_x86_64",)))
    assert rc["implementation"] == "CPython"
    assert rc["version_info"] == [3, 13, 0, "candidate", 2]
    assert rc["version"] == "3.13.0rc2"
    assert (rc["is_64"], rc["debug"], rc["extra_version_info"]) == (True, True, None)
    plain = _python(PY312)
    assert plain["version_info"] == [3, 12, 1, "final", 0]
    assert plain["implementation"] == "CPython"  # from "cpython" when the probe gave no markers
    assert plain["debug"] is False
    assert _python(dataclasses.replace(PY312, tags=("cp312-cp312-linux_i686",)))["is_64"] is False


def test_the_package_file_and_pip_freeze_come_from_the_store(tmp_path: Path) -> None:
    env = full_sample(tmp_path)["testenvs"]["py312-real"]
    wheel = tmp_path / "store" / "hash1-demo-wheel" / "demo-1.0-py3-none-any.whl"
    assert env["installpkg"] == {
        "basename": "demo-1.0-py3-none-any.whl",
        "type": "file",
        "sha256": hashlib.sha256(b"a wheel").hexdigest(),
    }
    assert env["installed_packages"] == ["Attrs==26.1.0", f"demo @ {wheel.as_uri()}"]
    assert env["package_version"] == "1.0"


def test_an_sdist_env_names_the_sdist_and_a_skip_env_none(tmp_path: Path) -> None:
    sdist = make_spec("py312", "sdist")
    data = result_json(
        [dataclasses.replace(ok(sdist), realised=built_env(tmp_path, sdist))], seconds=1, exit_code=0
    )
    assert data["testenvs"]["py312"]["installpkg"]["basename"] == "demo-1.0.tar.gz"
    skip = make_spec("lint", "skip")
    (tmp_path / "again").mkdir()
    skipped = dataclasses.replace(ok(skip), realised=built_env(tmp_path / "again", skip))
    assert "installpkg" not in result_json([skipped], seconds=1, exit_code=0)["testenvs"]["lint"]


def test_without_store_files_the_lock_gives_the_packages() -> None:
    env = sample()["testenvs"]["py312-django42"]
    assert "installpkg" not in env
    assert env["installed_packages"] == ["attrs==26.1.0"]


def test_commands_are_absolute_as_run_with_secrets_masked() -> None:
    argv = ("curl", "https://user:hunter2@example.org/x", "--token=abc", "--name=ok")
    ran = dataclasses.replace(
        outcome(Command(argv, ignore_exit_code=True)), executable="/usr/bin/curl", pid=42
    )
    result = dataclasses.replace(ok(make_spec("py312")), commands=(ran,))
    record = result_json([result], seconds=1, exit_code=0)["testenvs"]["py312"]["test"][0]
    masked = ["https://************@example.org/x", "--token=***", "--name=ok"]
    assert record["command"] == ["/usr/bin/curl", *masked]
    assert record["configured"] == ["-", "curl", *masked]
    assert record["show_on_standard"] is True


def test_setup_is_the_nix_build_or_nothing_when_up_to_date() -> None:
    envs = sample()["testenvs"]
    built = envs["py311-django42"]["setup"]
    assert [(r["run_id"], r["command"][:2], r["retcode"], r["elapsed"]) for r in built] == [
        ("nix-build", ["nix-store", "--realise"], 0, 0.5)
    ]
    assert built[0]["end"] == envs["py311-django42"]["test"][0]["start"]
    cached = envs["py312-django42"]["setup"]
    assert (cached[0]["command"], cached[0]["elapsed"]) == ([], 0.0)
    assert envs["py310-django42"]["setup"] == []  # never built


def test_project_name_version_and_commit(tmp_path: Path) -> None:
    assert full_sample(tmp_path)["project"] == {"name": "demo", "version": "1.0", "commit": "0123abc"}
    assert sample()["project"] == {"name": None, "version": None, "commit": None}


def test_toxversion_is_a_tox_release_number() -> None:
    assert re.fullmatch(r"4\.\d+\.\d+", sample()["toxversion"])


def test_keys_other_code_reads_keep_their_shape() -> None:
    env = sample()["testenvs"]["py312-django42"]
    assert env["result"]["success"] is True
    assert env["result"]["status"] == "ok"
    assert env["store_path"].startswith("/nix/store/")
    assert env["drv_path"].endswith(".drv")
    assert env["cached"] is True
    assert env["python"]["version"] == "3.12.1"
    assert env["test"][0]["elapsed"] == 1.25


def test_matrix_fields_for_the_html_report() -> None:
    envs = sample()["testenvs"]
    assert envs["(sdist) py312-django50"]["factors"] == ["py312", "django50"]
    assert envs["(sdist) py312-django50"]["python_request"] == "py312"
    assert envs["(sdist) py312-django50"]["package_format"] == "sdist"
    assert envs["lint"]["python_request"] is None


def test_status_of_each_kind_of_env() -> None:
    envs = sample()["testenvs"]
    skipped = envs["py313-django42"]["result"]
    assert (skipped["status"], skipped["skipped"], skipped["success"]) == ("skip", True, False)
    assert "python" not in envs["py313-django42"]
    assert envs["py313-django42"]["store_path"] is None
    assert envs["py310-django42"]["result"]["status"] == "error"
    assert envs["py310-django42"]["result"]["reason"].startswith("lock failed")
    failed = envs["(sdist) py312-django50"]
    assert [(c["run_id"], c["ok"], c["retcode"]) for c in failed["test"]] == [
        ("commands_pre[0]", True, 0),
        ("commands[0]", False, 1),
    ]


def overlapping_envs(data: dict[str, Any]) -> int:
    """The most envs whose commands were running at one instant (from ``start``/``end``)."""
    spans = [
        (min(c["start"] for c in env["test"]), max(c["end"] for c in env["test"]))
        for env in data["testenvs"].values()
        if env["test"]
    ]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = most = 0
    for _, delta in events:
        running += delta
        most = max(most, running)
    return most


def test_command_times_show_how_many_envs_ran_at_once() -> None:
    data = sample()
    # five envs start at T0 (1.25 s each, one 1.35 s), two at T0 + 10 / + 10.5 (overlapping), lint at T0
    assert overlapping_envs(data) == 5
    record = data["testenvs"]["(wheel) py311-django50"]["test"][0]
    assert record["start"] == T0 + 10
    assert record["end"] == T0 + 10 + 1.25
