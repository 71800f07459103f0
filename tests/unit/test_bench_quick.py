"""The benchmark harness's pure parts (bench/nixbench), without running any tool; one real --quick run."""

from __future__ import annotations

import ast
import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

# ruff: noqa: E402 - the harness is importable once bench/ is on sys.path
from nixbench import nixstore, report, stats
from nixbench.projects import (
    DEMO,
    DEP_FACTORS,
    EXTRA_DEP,
    PYPROJ,
    render_noxfile,
    render_tox_ini,
    write_project,
)
from nixbench.scenarios import (
    GROUPS,
    QUICK,
    Scenario,
    applies,
    parse_scenarios,
    read_profile,
    summarise_scenario,
)
from nixbench.tools import Tool, command_seconds_from_result_json, make_tools, tool_environ

# ---------------------------------------------------------------------------- statistics


def test_summary_is_median_min_max_of_the_successful_samples() -> None:
    summary = stats.summarise([3.0, None, 1.0, 2.0, 10.0], failures=1)
    assert summary is not None
    assert (summary.n, summary.median, summary.minimum, summary.maximum, summary.failures) == (
        4,
        2.5,
        1.0,
        10.0,
        1,
    )


def test_summary_of_nothing_is_none() -> None:
    assert stats.summarise([None, None]) is None


def test_ratio_is_tool_median_over_baseline_median() -> None:
    tool, base = stats.summarise([4.0, 6.0, 5.0]), stats.summarise([1.0, 2.0, 3.0])
    assert stats.ratio(tool, base) == pytest.approx(2.5)
    assert stats.ratio(tool, None) is None


def test_samples_alternate_between_tools_round_by_round() -> None:
    order = stats.sample_order(["nixtox", "tox"], 3)
    assert order == [(0, "nixtox"), (0, "tox"), (1, "nixtox"), (1, "tox"), (2, "nixtox"), (2, "tox")]


def _scenario_result(samples: dict[str, list[float | None]]) -> dict:
    tools = {
        name: {"samples": [{"seconds": s or 9.0, "ok": s is not None, "setup_seconds": None} for s in values]}
        for name, values in samples.items()
    }
    tools["nox"] = {"skipped": "no parallel mode"}
    out = {
        "key": "warm-6-par",
        "project": "pyproj",
        "family": "warm",
        "size": "6",
        "parallel": True,
        "envs": ["a"] * 6,
        "status": "ok",
        "tools": tools,
    }
    summarise_scenario(out)
    return out


def test_scenario_summary_drops_failures_and_computes_ratios() -> None:
    out = _scenario_result({"nixtox": [1.0, 2.0, 3.0], "tox": [4.0, None, 8.0]})
    tox = out["tools"]["tox"]
    assert tox["summary"]["median"] == 6.0
    assert tox["summary"]["failures"] == 1
    assert tox["ratio"] == 3.0
    assert out["tools"]["nixtox"]["ratio"] == 1.0


# ---------------------------------------------------------------------------- table rendering


def test_table_has_a_row_per_scenario_and_a_column_per_tool() -> None:
    table = report.render_table([_scenario_result({"nixtox": [1.0, 2.0, 3.0], "tox": [4.0, None, 8.0]})])
    lines = table.splitlines()
    assert lines[0] == "| scenario | envs | nixtox | tox | nox |"
    assert lines[2] == "| warm-6-par | 6 | 2.00 (1.00x) | 6.00 (3.00x) [1 failed] | n/a |"


def test_block_is_replaced_between_markers_only() -> None:
    doc = f"# B\n\nmethod\n\n{report.BEGIN}\nold\n{report.END}\n\nafter\n"
    assert report.replace_block(doc, f"{report.BEGIN}\nnew\n{report.END}") == (
        f"# B\n\nmethod\n\n{report.BEGIN}\nnew\n{report.END}\n\nafter\n"
    )
    assert report.replace_block("# B\n", "X").endswith("\n\nX\n")


def test_render_block_flags_a_loaded_machine() -> None:
    results = {
        "run_id": "r",
        "repeats": 3,
        "tool_versions": {"tox": "4"},
        "plots": [],
        "machine": {
            "nproc": 2,
            "memory_gib": 8,
            "platform": "linux",
            "nix": "nix 2.8.0",
            "nixtox_commit": "abc",
            "nixtox_dirty": False,
            "loadavg_start": [3.0, 0, 0],
        },
        "scenarios": [
            _scenario_result({"nixtox": [1.0], "tox": [2.0]}),
            {"key": "binary-cache", "status": "not available yet", "tools": {}},
        ],
    }
    block = report.render_block(results)
    assert block.startswith(report.BEGIN)
    assert block.endswith(report.END)
    assert "noisy" in block
    assert "`binary-cache`: not available yet" in block


# ---------------------------------------------------------------------------- configs for every tool


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_tox_ini_declares_the_factor_matrix() -> None:
    ini = _ini(render_tox_ini(PYPROJ))
    assert ini["tox"]["env_list"] == "py3{11,12,13}-{a,b,c,d}"
    deps = ini["testenv"]["deps"]
    for factor, dep in DEP_FACTORS.items():
        assert f"{factor}: {dep}" in deps
    assert EXTRA_DEP not in deps
    assert EXTRA_DEP in _ini(render_tox_ini(PYPROJ.with_extra_dep(EXTRA_DEP)))["testenv"]["deps"]
    assert ini["testenv"]["package"] == "wheel"


def _nox_sessions(spec) -> dict:
    tree = ast.parse(render_noxfile(spec))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SESSIONS":
            return ast.literal_eval(node.value)
    raise AssertionError("no SESSIONS")


def test_noxfile_has_one_session_per_tox_env_with_the_same_deps() -> None:
    sessions = _nox_sessions(PYPROJ)
    assert list(sessions) == [e.name for e in PYPROJ.envs]
    assert len(sessions) == 12
    assert sessions["py313-b"] == {
        "python": "3.13",
        "deps": ["pytest>=8", "hypothesis>=6.100", DEP_FACTORS["b"]],
        "commands": [["pytest", "-q", "-p", "no:cacheprovider", "tests"]],
    }
    assert EXTRA_DEP in _nox_sessions(PYPROJ.with_extra_dep(EXTRA_DEP))["py311-a"]["deps"]
    assert 'venv_backend="uv"' in render_noxfile(PYPROJ)


def test_matrix_selections_are_nested_and_sized() -> None:
    sizes = {k: len(v) for k, v in PYPROJ.selections.items()}
    assert sizes == {"1": 1, "3": 3, "6": 6, "12": 12}
    assert set(PYPROJ.selections["6"]) <= set(PYPROJ.selections["12"])


def test_written_project_changes_only_the_edited_file(tmp_path: Path) -> None:
    root = write_project(PYPROJ, tmp_path / "p")
    ini_mtime = (root / "tox.ini").stat().st_mtime_ns
    source = root / "src" / "benchpkg" / "__init__.py"
    write_project(PYPROJ.with_source_revision(7), root)
    assert "REVISION = 7" in source.read_text()
    assert (root / "tox.ini").stat().st_mtime_ns == ini_mtime


def test_demo_copy_drops_only_the_nix_only_test(tmp_path: Path) -> None:
    root = write_project(DEMO.with_extra_dep(EXTRA_DEP), tmp_path / "demo")
    tests = (root / "tests" / "test_demo.py").read_text()
    assert "test_runs_in_the_nix_env" not in tests
    assert "test_packaging_comes_from_the_env" in tests
    assert f"    {EXTRA_DEP}\n" in (root / "tox.ini").read_text()
    assert list(_nox_sessions(DEMO)) == ["py311", "py312", "py313", "lint"]


# ---------------------------------------------------------------------------- tool command lines


def _tools() -> dict[str, Tool]:
    bins = {name: Path(f"/v/{name}/bin") for name in ("tox", "tox-uv", "nox")}
    return {t.name: t for t in make_tools(bins, Path("/nixtox"), nixtox_parallel=False)}


def test_command_lines(tmp_path: Path) -> None:
    tools, rj = _tools(), tmp_path / "r.json"
    assert tools["tox"].argv(["py312-a"], result_json=rj) == [
        "/v/tox/bin/tox",
        "-c",
        "tox.ini",
        "run",
        "-e",
        "py312-a",
        "--result-json",
        str(rj),
    ]
    assert tools["tox-uv"].argv(["a", "b"], result_json=rj, parallel=True)[:6] == [
        "/v/tox-uv/bin/tox",
        "-c",
        "tox.ini",
        "run-parallel",
        "-p",
        "auto",
    ]
    assert tools["nox"].argv(["a", "b"], result_json=rj, posargs=["python", "-c", "pass"]) == [
        "/v/nox/bin/nox",
        "-f",
        "noxfile.py",
        "--reuse-venv=yes",
        "--no-color",
        "-s",
        "a",
        "b",
        "--",
        "python",
        "-c",
        "pass",
    ]
    assert tools["nixtox"].argv(["a"], result_json=rj) == [
        "/nixtox",
        "run",
        "--root",
        ".",
        "-e",
        "a",
        "--result-json",
        str(rj),
    ]


def test_tools_that_lack_a_mode_are_skipped_with_a_reason() -> None:
    tools = _tools()
    par = Scenario("warm-6-par", "pyproj", "warm", "6", parallel=True)
    assert applies(tools["nox"], par) == "no parallel mode"
    assert applies(tools["nixtox"], par) == "parallel not supported by this version"
    assert applies(tools["tox"], par) is None
    assert (
        applies(tools["nixtox (wheels in store)"], Scenario("warm-1", "pyproj", "warm", "1"))
        == "cold variant only"
    )


def test_environment_isolates_every_cache(tmp_path: Path) -> None:
    env = tool_environ(tmp_path, [Path("/py/bin")], base={"PATH": "/usr/bin", "VIRTUAL_ENV": "/x"})
    assert env["PIP_CACHE_DIR"].startswith(str(tmp_path))
    assert env["UV_CACHE_DIR"].startswith(str(tmp_path))
    assert env["PATH"] == "/py/bin:/usr/bin"
    assert "VIRTUAL_ENV" not in env


def test_command_seconds_from_result_json_skips_packaging_envs() -> None:
    data = {
        "testenvs": {
            ".pkg": {"test": [{"elapsed": 5.0}]},
            "py312": {"test": [{"elapsed": 1.5}, {"elapsed": 0.5}]},
        }
    }
    assert command_seconds_from_result_json(data) == 2.0
    assert command_seconds_from_result_json({}) is None


def test_nox_command_seconds_come_from_the_noxfile_timing_file(tmp_path: Path) -> None:
    times = tmp_path / "t.jsonl"
    times.write_text(
        json.dumps({"session": "a", "seconds": 1.25})
        + "\n"
        + json.dumps({"session": "b", "seconds": 1.0})
        + "\n"
    )
    assert _tools()["nox"].command_seconds(tmp_path / "missing.json", times) == 2.25


def test_drv_outputs_tell_fixed_output_paths_apart() -> None:
    drv = (
        'Derive([("out","/nix/store/aaa-x.whl","sha256","abc")],[("/nix/store/d.drv",["out"])],'
        '["/nix/store/src"],"x86_64-linux","builtin:fetchurl",[],[("out","/nix/store/aaa-x.whl")])'
    )
    assert nixstore.parse_drv_outputs(drv) == [("/nix/store/aaa-x.whl", True)]
    env = 'Derive([("out","/nix/store/bbb-env","","")],[],[],"x",[],[])'
    assert nixstore.parse_drv_outputs(env) == [("/nix/store/bbb-env", False)]


def test_a_path_revived_between_print_dead_and_delete_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(nixstore, "dead_paths", lambda: {"/nix/store/a-x", "/nix/store/b-y"})
    monkeypatch.setattr(nixstore.Path, "exists", lambda self: True)

    def fake_nix_store(*args: str) -> str:
        calls.append(args)
        if args[0] == "--query":
            return ""  # no referrers
        if "/nix/store/a-x" in args:
            raise RuntimeError(
                "error: Cannot delete path '/nix/store/a-x' since it is still alive. To find out why"
            )
        return ""

    monkeypatch.setattr(nixstore, "_nix_store", fake_nix_store)
    assert nixstore.delete_dead({"/nix/store/a-x", "/nix/store/b-y", "/nix/store/c-z"}) == (
        1,
        ["/nix/store/a-x", "/nix/store/c-z"],
    )
    assert calls[-1] == ("--delete", "/nix/store/b-y")


def test_every_path_nix_finds_alive_is_skipped_and_dead_referrers_go_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nix's --delete stops at the first live path and deletes nothing: past any number of them the rest
    is deleted, with the dead paths that still refer to it (an earlier run's env sharing a layer)."""
    alive = {f"/nix/store/{i:02d}-recipe.drv" for i in range(30)}
    layer, old_env = "/nix/store/layer-x", "/nix/store/old-env"
    deleted: list[tuple[str, ...]] = []
    monkeypatch.setattr(nixstore, "dead_paths", lambda: {*alive, layer, old_env})
    monkeypatch.setattr(nixstore.Path, "exists", lambda self: True)

    def fake_nix_store(*args: str) -> str:
        if args[0] == "--query":
            return f"{layer}\n{old_env}\n" if layer in args else ""
        first_alive = next((a for a in sorted(args) if a in alive), None)
        if first_alive is not None:
            raise RuntimeError(f"error: Cannot delete path '{first_alive}' since it is still alive.")
        deleted.append(args)
        return ""

    monkeypatch.setattr(nixstore, "_nix_store", fake_nix_store)
    count, kept = nixstore.delete_dead({*alive, layer})
    assert deleted == [("--delete", layer, old_env)]
    assert (count, sorted(kept)) == (1, sorted(alive))


def test_roots_must_cover_every_selected_env(tmp_path: Path) -> None:
    roots = tmp_path / "gcroots"
    roots.mkdir()
    for key in ("py312-a", "py312-wheel"):
        (roots / key).symlink_to("/nix/store/x")
    assert nixstore.roots_cover(tmp_path, ["py312-a", "py312"])
    assert not nixstore.roots_cover(tmp_path, ["py312-a", "py311-a"])
    assert not nixstore.roots_cover(tmp_path / "missing", [])


def test_scenario_groups_parse_in_order_without_duplicates() -> None:
    keys = [s.key for s in parse_scenarios("warm-1,core")]
    assert keys[0] == "warm-1"
    assert len(keys) == len(set(keys)) == len(GROUPS["core"])
    assert [s.key for s in parse_scenarios(",".join(QUICK))] == QUICK
    with pytest.raises(SystemExit):
        parse_scenarios("nope")


# ---------------------------------------------------------------------------- the real thing


@pytest.mark.nix
@pytest.mark.skipif(shutil.which("nix-store") is None, reason="needs Nix")
def test_quick_run_writes_results(tmp_path: Path) -> None:
    """`bench/run.py --quick` end to end: peer venvs from PyPI, results JSON; no speed asserts."""
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--quick",
            "--scenarios",
            "warm-1,noop-1",
            "--out",
            str(out),
            "--timeout",
            "150",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((out / "latest.json").read_text())
    assert [sc["key"] for sc in results["scenarios"]] == ["warm-1", "noop-1"]
    for sc in results["scenarios"]:
        for name in ("tox", "tox-uv", "nox"):
            assert sc["tools"][name]["summary"] is not None, (name, sc["tools"][name])
    assert results["machine"]["nproc"] >= 1
    assert results["pins"]["tox"]


def test_a_profile_line_becomes_the_phases_of_the_per_phase_table(tmp_path: Path) -> None:
    profile = tmp_path / "p.jsonl"
    events = [
        ["startup", 0.1], ["stage:load", 0.02], ["stage:expand", 0.03], ["call:git ls-files", 0.01],
        ["stage:render", 0.05], ["call:nix-instantiate /w/default.nix", 0.4], ["built:demo-1.0.whl", 0.7],
        ["fetched:attrs-25.4.0-py3-none-any.whl", 0.2], ["call:nix-store --realise", 1.0],
        ["call:nix-store --query", 0.05], ["stage:realise", 1.5], ["commands", 0.6],
    ]  # fmt: skip
    profile.write_text(
        json.dumps({"total": 9.0, "events": []}) + "\n" + json.dumps({"total": 2.5, "events": events})
    )
    phases = read_profile(profile)
    assert phases is not None
    assert phases["total"] == 2.5  # the last invocation's
    assert phases["config: load, expand, select"] == 0.05
    assert phases["Nix build steps (sum over steps)"] == pytest.approx(0.9)
    assert phases["Nix evaluation (nix-instantiate)"] == 0.4
    assert phases["Nix realisation (nix-store --realise)"] == 1.0
    assert phases["other Nix queries"] == 0.05
    assert phases["realise stage (evaluation, builds, queries)"] == 1.5
    assert phases["commands"] == 0.6
    assert read_profile(tmp_path / "missing.jsonl") is None
    scenario = {"key": "src-1", "status": "ok", "tools": {"nixtox": {"samples": [
        {"ok": True, "phases": phases}, {"ok": True, "phases": {**phases, "commands": 0.8}},
        {"ok": False, "phases": {**phases, "commands": 9.0}},
    ]}}}  # fmt: skip
    table = report.render_phase_table([scenario])
    assert "| phase | src-1 |" in table
    assert "| commands | 0.80 |" in table  # median of the successful samples
