"""A small matrix of EnvResults for the report tests: every status, two formats, cached and not."""

from __future__ import annotations

import dataclasses
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
