"""A small matrix of EnvResults for the report tests: every status, two formats, cached and not."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from nixtox.model import (
    Command,
    CommandOutcome,
    EnvConfig,
    EnvResult,
    EnvSpec,
    Interpreter,
    LockedEnv,
    RealisedEnv,
    RenderedEnv,
)
from nixtox.plugins import PackageFormat, find_format
from tests.unit._values import ATTRS, HATCHLING, PY312

PY311 = dataclasses.replace(
    PY312, request="py311", version=(3, 11, 9), executable=Path("/usr/bin/python3.11")
)
T0 = 1_700_000_000.0
PYTEST = Command(("pytest", "-q", "tests"))


def _format(name: str) -> PackageFormat:
    found = find_format(name)
    assert found is not None, name
    return found


def make_spec(
    name: str, fmt: str = "wheel", *, formats: int = 1, change_dir: Path = Path("/proj"), **config: object
) -> EnvSpec:
    factors = tuple(name.split("-"))
    python = next((f for f in factors if f.startswith("py3")), None)
    return EnvSpec(
        name=name,
        format=_format(fmt),
        factors=factors,
        python=python,
        default=True,
        config=EnvConfig(commands=(PYTEST,), change_dir=change_dir, description=f"tests of {name}", **config),  # type: ignore[arg-type]
        format_count=formats,
    )


def realised(spec: EnvSpec, interp: Interpreter = PY312, *, cached: bool = False) -> RealisedEnv:
    locked = LockedEnv(spec=spec, interpreter=interp, dists=(ATTRS,), build_dists=(HATCHLING,), lock_key="k")
    rendered = RenderedEnv(locked=locked, attr=spec.key, fingerprint="e" * 64)
    return RealisedEnv(
        rendered=rendered,
        store_path=Path(f"/nix/store/{'a' * 32}-nixtox-env-{spec.key}"),
        drv_path=f"/nix/store/{'d' * 32}-nixtox-env-{spec.key}.drv",
        cached=cached,
    )


def outcome(
    command: Command,
    *,
    code: int = 0,
    output: str = "3 passed\n",
    start: float = T0,
    seconds: float = 1.25,
    phase: str = "commands",
) -> CommandOutcome:
    return CommandOutcome(command, phase, code, output, start, seconds)


def ok(spec: EnvSpec, interp: Interpreter = PY312, *, cached: bool = False, start: float = T0) -> EnvResult:
    return EnvResult(
        spec, "ok", realised=realised(spec, interp, cached=cached),
        commands=(outcome(PYTEST, start=start),), setup_seconds=0.5, command_seconds=1.25,
    )  # fmt: skip


def sample_results() -> list[EnvResult]:
    """py311/py312 x django42/django50 (wheel and sdist for django50), lint, a skip, an error, a fail."""
    failing = make_spec("py312-django50", "sdist", formats=2)
    return [
        ok(make_spec("py311-django42"), PY311),
        ok(make_spec("py312-django42"), cached=True),
        ok(make_spec("py311-django50", "wheel", formats=2), PY311, start=T0 + 10),
        ok(make_spec("py311-django50", "sdist", formats=2), PY311, start=T0 + 10.5),
        ok(make_spec("py312-django50", "wheel", formats=2), cached=True),
        EnvResult(
            failing,
            "fail",
            realised=realised(failing),
            commands=(
                outcome(Command(("python", "-c", "print(1)")), phase="commands_pre", seconds=0.1),
                outcome(
                    PYTEST,
                    code=1,
                    output="\x1b[31mFAILED\x1b[0m tests/test_a.py::test_x - <script>alert(1)</script>\n",
                ),
            ),
            setup_seconds=0.5,
            command_seconds=1.35,
            exit_code=1,
        ),
        EnvResult(make_spec("py313-django42"), "skip", reason="could not find python interpreter py313"),
        EnvResult(
            make_spec("py310-django42"),
            "error",
            reason="lock failed: no version of django>=4.2 supports python 3.10\nsecond line",
            exit_code=2,
        ),
        ok(make_spec("lint")),
    ]


def aterm(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def built_env(tmp_path: Path, spec: EnvSpec, *, interp: Interpreter = PY312) -> RealisedEnv:
    """A realised env whose store files are real (under ``tmp_path``): the env's ``nixtox-env.json``,
    the project's build output with its wheel and sdist, and the two derivations that lead to it."""
    build = tmp_path / "store" / "hash1-demo-wheel"
    (build / "nix-support").mkdir(parents=True)
    (build / "demo-1.0-py3-none-any.whl").write_bytes(b"a wheel")
    (build / "demo-1.0.tar.gz").write_bytes(b"an sdist")
    (build / "nix-support" / "nixtox-dist.json").write_text(
        json.dumps(
            {
                "name": "demo",
                "version": "1.0",
                "wheel": "demo-1.0-py3-none-any.whl",
                "sdist": "demo-1.0.tar.gz",
            }
        )
    )
    layer_drv = tmp_path / "store" / "hash2-demo-wheel-py3.12.drv"
    wheels = json.dumps([{"filename": None, "path": str(build)}])
    layer_drv.write_text(
        f'Derive([("out","/x","","")],[],[],"x86_64-linux","/py",[],[("wheelsJson",{aterm(wheels)})])'
    )
    env_drv = tmp_path / "store" / "hash3-nixtox-env.drv"
    fetched = tmp_path / "store" / "hash4-attrs-26.1.0-py3-none-any.whl.drv"
    env_drv.write_text(
        f'Derive([("out","/y","","")],[("{fetched}",["out"]),("{layer_drv}",["out"])],[],"x86_64-linux","/py",[],[])'
    )
    store_path = tmp_path / "store" / "hash5-nixtox-env"
    (store_path / "nix-support").mkdir(parents=True)
    dists = [{"name": "demo", "version": "1.0"}, {"name": "Attrs", "version": "26.1.0"}]
    (store_path / "nix-support" / "nixtox-env.json").write_text(json.dumps({"dists": dists}))
    base = realised(spec, interp)
    return dataclasses.replace(base, store_path=store_path, drv_path=str(env_drv))


PYTEST_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3"
 time="0.05" timestamp="2026-01-01T00:00:00" hostname="ci">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="3" time="0.001">
<properties><property name="k" value="v"/></properties></testcase>
<testcase classname="tests.test_a" name="test_bad" file="tests/test_a.py" line="7" time="0.002">
<failure message="assert 1 == 2">def test_bad():
&gt;       assert 1 == 2</failure><system-out>printed</system-out></testcase>
<testcase classname="tests.test_a" name="test_skip" time="0.000">
<skipped type="pytest.skip" message="not today">tests/test_a.py:11: not today</skipped></testcase>
</testsuite></testsuites>
"""


def pytest_run(tmp_path: Path, report: str = "reports/junit.xml") -> EnvResult:
    spec = make_spec("py312", change_dir=tmp_path)
    (tmp_path / report).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / report).write_text(PYTEST_JUNIT, encoding="utf-8")
    command = Command(("pytest", f"--junitxml={report}"))
    result = ok(spec, start=time.time() - 1)
    return dataclasses.replace(result, commands=(outcome(command, start=time.time() - 1, seconds=1.0),))
