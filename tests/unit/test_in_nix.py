"""The in-Nix run stage (run/_in_nix.py, _nix_checks.py, _check_record.py) against a fake Nix whose
check derivations write records like ``nix/checks/run_check.py`` does and log like Nix's JSON log."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import socket
from collections.abc import Sequence
from pathlib import Path

import pytest

from nixtox.errors import BuildError, ConfigError, NixtoxError
from nixtox.model import Command, EnvResult, EnvSpec, RenderedEnv
from nixtox.nix import BuildWatcher, RealiseOutcome
from nixtox.plugins import find_format
from nixtox.render import render_env
from nixtox.report import summary_lines
from nixtox.report._lines import LogLine
from nixtox.run import InNixOptions, nix_run_spec, refused_pass_env, run_in_nix, runs_in_nix
from nixtox.state import State
from tests.unit._heard import Heard
from tests.unit._values import locked, spec
from tests.unit.fake_nix import FakeNix

PYTEST = Command(("pytest", "-q"))


class CheckNix(FakeNix):
    """Checks are ``kinds.<key>.check``: realising one "runs" it: ``exit_codes[key]`` (default 0) is
    its recorded outcome, and it tells the watcher what Nix's JSON log would."""

    def __init__(self, store: Path, *, exit_codes: dict[str, int] | None = None, **kwargs: set[str]) -> None:
        super().__init__(store, **kwargs)
        self.exit_codes = exit_codes or {}
        self.ran: list[str] = []
        self.machine = ""
        self.env_drvs: dict[str, str] = {}

    def _drv(self, expr_file: Path, attr: str) -> str:
        key = attr.split(".")[1]
        env_file = expr_file.parent / "nix" / f"{key}.nix"
        digest = hashlib.sha256(env_file.read_bytes() + expr_file.read_bytes()).hexdigest()[:12]
        kind = "check" if attr.startswith("kinds.") else "env"
        drv = f"/fake/{digest}-{kind}-{key}.drv"
        if kind == "env":
            self.env_drvs[key] = drv
        return drv

    def realise(
        self, drvs: Sequence[str], *, root: Path | None = None, watcher: BuildWatcher | None = None
    ) -> RealiseOutcome:
        self.calls.append(f"realise {len(drvs)}")
        failed = []
        for drv in drvs:
            key = drv.rsplit("-", 1)[1].removesuffix(".drv")
            if key in self.failing:
                failed.append(drv)
                continue
            if watcher is not None:
                watcher.build_started(drv, self.machine)
                watcher.build_line(drv, '@nixtox {"event": "start", "index": 0, "phase": "commands"}')
                watcher.build_line(drv, f"output of {key}")
            self.ran.append(key)
            self.output_path(self.env_drvs[key]).mkdir(parents=True, exist_ok=True)  # built on the way
            write_record(self.output_path(drv), self.exit_codes.get(key, 0), output=f"output of {key}\n")
            if watcher is not None:
                code = self.exit_codes.get(key, 0)
                watcher.build_line(
                    drv,
                    f'@nixtox {{"event": "exit", "exit_code": {code}, "index": 0, "phase": "commands",'
                    ' "seconds": 0.5}',
                )
                watcher.build_stopped(drv, self.machine)
                if self.machine:
                    watcher.path_copied(str(self.output_path(drv)), self.machine)
        return RealiseOutcome(not failed, tuple(failed), {}, "log tail", 0.0)


def write_record(out: Path, code: int, *, output: str = "", host: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "version": 2,
        "env": "x",
        "exit_code": code,
        "host": host or socket.gethostname(),
        "started": 1_700_000_000.0,
        "finished": 1_700_000_001.0,
        "commands": [
            {
                "phase": "commands", "index": 0, "argv": ["pytest", "-q"], "executable": "/bin/pytest",
                "exit_code": code, "ok": code == 0, "output": output, "started": 1_700_000_000.0,
                "seconds": 0.5,
                "junit": [{"path": "@envDir@/tmp/junit.xml", "mtime": 1_700_000_000.25, "text": "<x/>"}],
            }
        ],
        "environ": {"PATH": "/bin"},
    }  # fmt: skip
    (out / "result.json").write_text(json.dumps(record))
    (out / "exit-code").write_text(f"{code}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    return root


def _spec(root: Path, name: str = "py312", **config: object) -> EnvSpec:
    env_dir = root / ".nixtox" / "envs" / name
    return dataclasses.replace(spec(name, change_dir=root, **config), env_dir=env_dir)  # type: ignore[arg-type]


def _envs(root: Path, *names: str, commands: tuple[Command, ...] = (PYTEST,)) -> list[RenderedEnv]:
    specs = [_spec(root, n, commands=commands) for n in names]
    return [render_env(locked(s), root=root, project_name="demo", kinds=("check",)) for s in specs]


def _run(
    root: Path, nix: FakeNix, envs: list[RenderedEnv], *, rerun: bool = False, heard: Heard | None = None
) -> dict[str, EnvResult | NixtoxError]:
    options = InNixOptions(work_dir=root / ".nixtox", rerun=rerun)
    return run_in_nix(envs, nix=lambda: nix, options=options, events=heard or Heard(), root=root).results


def _ok(results: dict[str, EnvResult | NixtoxError]) -> dict[str, EnvResult]:
    return {k: v for k, v in results.items() if isinstance(v, EnvResult)}


def test_first_run_runs_the_checks_in_one_call_and_the_second_calls_no_nix(
    project: Path, tmp_path: Path
) -> None:
    nix = CheckNix(tmp_path / "store")
    first = _ok(_run(project, nix, _envs(project, "py311", "py312")))
    assert [c.split()[0] for c in nix.calls] == ["instantiate", "realise", *["add_root"] * 4]
    assert nix.calls[0] == "instantiate envs.py311 envs.py312 kinds.py311.check kinds.py312.check"
    assert sorted(nix.ran) == ["py311", "py312"]
    assert all(r.status == "ok" and r.nix_run and not r.nix_run.cached for r in first.values())
    assert first["py312"].commands[0].command is first["py312"].spec.config.commands[0]
    assert first["py312"].commands[0].output == "output of py312\n"
    nix.calls.clear()
    second = _ok(_run(project, nix, _envs(project, "py311", "py312")))
    assert nix.calls == []
    assert all(r.nix_run and r.nix_run.cached and r.nix_run.ran_on == "local" for r in second.values())
    assert second["py312"].nix_run.result_path == first["py312"].nix_run.result_path  # type: ignore[union-attr]


def test_a_changed_command_runs_that_env_again_and_only_that_env(project: Path, tmp_path: Path) -> None:
    nix = CheckNix(tmp_path / "store")
    _run(project, nix, _envs(project, "py311", "py312"))
    nix.ran.clear()
    envs = _envs(project, "py311") + _envs(project, "py312", commands=(Command(("pytest", "-x")),))
    results = _ok(_run(project, nix, envs))
    assert nix.ran == ["py312"]
    assert results["py311"].nix_run.cached  # type: ignore[union-attr]
    assert not results["py312"].nix_run.cached  # type: ignore[union-attr]


def test_a_failure_is_a_cached_result_and_rerun_runs_it_again(project: Path, tmp_path: Path) -> None:
    nix = CheckNix(tmp_path / "store", exit_codes={"py312": 3})
    assert _ok(_run(project, nix, _envs(project, "py312")))["py312"].exit_code == 3
    nix.calls.clear()
    heard = Heard()
    cached = _ok(_run(project, nix, _envs(project, "py312"), heard=heard))["py312"]
    assert nix.calls == []
    assert (cached.status, cached.exit_code, cached.nix_run.cached) == ("fail", 3, True)  # type: ignore[union-attr]
    # a cached failure shows what its run showed, then ends
    shown = "".join(text for kind, _, text in heard.events if kind == "output")
    assert re.search(r"^py312: commands\[0\].*> pytest -q$", shown, re.MULTILINE)
    assert "output of py312" in shown
    assert "exit 3" in shown
    assert heard.events[-1] == ("done", "py312", "fail")
    nix.exit_codes.clear()
    nix.ran.clear()
    again = _ok(_run(project, nix, _envs(project, "py312"), rerun=True))["py312"]
    assert nix.ran == ["py312"]
    assert again.status == "ok"
    assert again.nix_run.drv_path != cached.nix_run.drv_path  # type: ignore[union-attr]
    # the rerun's result is the env's recorded one now
    nix.calls.clear()
    after = _ok(_run(project, nix, _envs(project, "py312")))["py312"]
    assert nix.calls == []
    assert after.status == "ok"


def test_a_failed_env_build_ends_only_its_env_with_the_reason(project: Path, tmp_path: Path) -> None:
    nix = CheckNix(tmp_path / "store", failing={"py311"})
    results = _run(project, nix, _envs(project, "py311", "py312"))
    assert isinstance(results["py311"], BuildError)
    assert "boom" in results["py311"].message
    assert _ok(results)["py312"].status == "ok"
    assert "py311" not in State.read(project / ".nixtox").checks


def test_an_evaluation_error_is_attributed_to_its_env(project: Path, tmp_path: Path) -> None:
    nix = CheckNix(tmp_path / "store", broken_eval={"kinds.py311.check"})
    results = _run(project, nix, _envs(project, "py311", "py312"))
    assert isinstance(results["py311"], BuildError)
    assert set(_ok(results)) == {"py312"}


def test_results_stream_live_and_end_as_they_arrive(project: Path, tmp_path: Path) -> None:
    heard = Heard()
    _run(project, CheckNix(tmp_path / "store"), _envs(project, "py312"), heard=heard)
    kinds = [(kind, text) for kind, _, text in heard.events]
    assert kinds[0] == ("started", "")
    command_line = kinds[1][1]
    assert isinstance(command_line, LogLine)
    assert command_line.message.startswith("commands[0]")
    assert command_line.message.endswith("> pytest -q")
    assert kinds[2] == ("output", "output of py312\n")
    assert kinds[-1] == ("done", "ok")


def test_a_remote_run_names_its_builder_and_ends_when_its_result_is_copied(
    project: Path, tmp_path: Path
) -> None:
    nix = CheckNix(tmp_path / "store")
    nix.machine = "ssh-ng://root@builder-2?ssh-key=/k"
    result = _ok(_run(project, nix, _envs(project, "py312")))["py312"]
    assert result.nix_run.ran_on == "builder-2"  # type: ignore[union-attr]
    (line,) = [t for t, _ in summary_lines([result], 1.0)[:1]]
    assert line.endswith(", ran in Nix on builder-2")


def test_a_result_from_another_machine_says_where_and_when_it_ran(project: Path, tmp_path: Path) -> None:
    nix = CheckNix(tmp_path / "store")
    envs = _envs(project, "py312")
    first = _ok(_run(project, nix, envs))["py312"]
    assert first.nix_run is not None
    write_record(first.nix_run.result_path, 0, host="ci-runner-7")
    again = _ok(_run(project, nix, envs))["py312"]
    assert again.nix_run.ran_on == "ci-runner-7"  # type: ignore[union-attr]
    text = summary_lines([again], 0.1)[0][0]
    assert text.endswith("cached: ran in Nix on ci-runner-7 at 2023-11-14 22:13:20 UTC")


def test_junit_files_of_the_record_are_put_where_a_host_run_writes_them(
    project: Path, tmp_path: Path
) -> None:
    result = _ok(_run(project, CheckNix(tmp_path / "store"), _envs(project, "py312")))["py312"]
    junit = result.spec.env_dir / "tmp" / "junit.xml"
    assert junit.read_text() == "<x/>"
    assert junit.stat().st_mtime == 1_700_000_000.25
    assert (result.log_dir / "1-commands[0].log").is_file()  # type: ignore[operator]


def test_run_in_values() -> None:
    assert not runs_in_nix(spec(run_in=""))
    assert not runs_in_nix(spec(run_in="host"))
    assert runs_in_nix(spec(run_in="nix"))
    assert runs_in_nix(spec(run_in="host"), everywhere=True)
    with pytest.raises(ConfigError, match="run_in = 'docker': use host or nix"):
        runs_in_nix(spec(run_in="docker"))


def test_pass_env_is_refused_unless_listed_as_not_secret() -> None:
    refused = refused_pass_env(spec(pass_env=("API_TOKEN", "CI")))
    assert refused is not None
    assert "pass_env API_TOKEN, CI" in refused.message
    assert "non_secret_pass_env" in refused.message
    assert refused_pass_env(spec(pass_env=("CI", "LANG_*"), non_secret_pass_env=("ci", "LANG_*"))) is None
    assert refused_pass_env(spec(pass_env=("CI", "API_TOKEN"), non_secret_pass_env=("CI",))) is not None


def test_only_listed_pass_env_values_enter_the_derivation() -> None:
    environ = {"CI": "true", "API_TOKEN": "s3cr3t", "LANG_X": "x", "HOME": "/root", "MODE": "env"}
    env = spec(
        pass_env=("CI", "API_TOKEN", "LANG_*", "MODE"), non_secret_pass_env=("CI", "LANG_*", "MODE"),
        set_env=(("MODE", "config"),),
    )  # fmt: skip
    seen = nix_run_spec(env, environ).config.set_env
    assert seen == (("CI", "true"), ("LANG_X", "x"), ("MODE", "config"))
    assert nix_run_spec(spec(), environ) == spec()


def test_secret_values_are_not_in_the_rendered_check(project: Path) -> None:
    env = _spec(project, pass_env=("TOKEN",))
    rendered = render_env(
        locked(nix_run_spec(env, {"TOKEN": "hunter2-secret"})), root=project, project_name="demo",
        kinds=("check",),
    )  # fmt: skip
    assert "hunter2-secret" not in json.dumps(rendered.view)


def test_the_render_stage_gives_in_nix_envs_their_check_and_builds_editable_as_a_wheel(project: Path) -> None:
    from nixtox import session
    from nixtox.model import CoreConfig, Envs, Project

    host, in_nix = _spec(project, "py311", commands=(PYTEST,)), _spec(project, "py312", commands=(PYTEST,))
    in_nix = dataclasses.replace(
        in_nix, format=find_format("editable"), config=dataclasses.replace(in_nix.config, run_in="nix")
    )  # type: ignore[arg-type]
    project_value = Project(CoreConfig(root=project, config_file=project / "tox.ini"), (host, in_nix))
    locked_envs = Envs(project_value, (host, in_nix), (locked(host), locked(in_nix)))
    rendered = session.render(locked_envs, session.Session(session.RunOptions(path=project)))
    by_key = {env.spec.key: env for env in rendered.live}
    assert [k["name"] for k in by_key["py311"].view["kinds"]] == ["shell"]
    assert [k["name"] for k in by_key["py312"].view["kinds"]] == ["shell", "check"]
    wheel = find_format("wheel")
    assert wheel is not None
    assert by_key["py312"].view["package"]["template"] == wheel.template
    # --in-nix: every env
    everywhere = session.render(locked_envs, session.Session(session.RunOptions(path=project, in_nix=True)))
    assert all("check" in [k["name"] for k in env.view["kinds"]] for env in everywhere.live)
