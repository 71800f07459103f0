"""The result JSON: tox 4's keys kept, nixtox's added, every key documented, JSON round trip."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nixtox.report import result_json
from tests.unit._report_samples import T0, sample_results

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


def test_round_trips_through_json() -> None:
    data = sample()
    assert json.loads(json.dumps(data)) == data


def test_every_emitted_key_is_documented_and_every_documented_key_is_emitted() -> None:
    emitted = key_paths(sample())
    documented = documented_paths()
    assert emitted - documented == set(), "document these keys in docs/reference/result-json.md"
    assert documented - emitted == set(), "documented keys the sample never emits"


def test_keeps_tox_journal_keys() -> None:
    data = sample()
    assert {"reportversion", "toxversion", "platform", "host", "testenvs"} <= data.keys()
    env = data["testenvs"]["py312-django42"]
    assert {"name", "result", "setup", "test", "python", "installed_packages", "installpkg"} <= env.keys()
    assert {"success", "exit_code", "duration", "skipped"} <= env["result"].keys()
    assert {"implementation", "version", "version_info", "executable"} <= env["python"].keys()
    assert {"command", "retcode", "output", "elapsed", "start", "end", "run_id"} <= env["test"][0].keys()


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
