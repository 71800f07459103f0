"""The scheduler: depends order, bounded parallelism, fail-fast, cycles."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nixtox.errors import EnvSelectionError
from nixtox.model import EnvResult, EnvSpec
from nixtox.run import dependency_order, schedule
from tests.unit._values import spec


def _ready(env: EnvSpec) -> EnvResult:
    return EnvResult(spec=env, status="ready")


class Recorder:
    def __init__(self, fail: set[str] = frozenset(), pause: float = 0.02) -> None:  # type: ignore[assignment]
        self.fail = set(fail)
        self.pause = pause
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.order: list[str] = []

    def __call__(self, ready: EnvResult) -> EnvResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.order.append(ready.spec.name)
        time.sleep(self.pause)
        with self.lock:
            self.running -= 1
        status = "fail" if ready.spec.name in self.fail else "ok"
        return EnvResult(spec=ready.spec, status=status, exit_code=1 if status == "fail" else 0)


def _run(specs: list[EnvSpec], recorder: Recorder, jobs: int, **kwargs: object) -> dict[str, EnvResult]:
    return schedule(specs, {}, {s.key: _ready(s) for s in specs}, jobs=jobs, run_one=recorder, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_never_more_than_jobs_at_once(jobs: int) -> None:
    specs = [spec(f"e{i}") for i in range(6)]
    recorder = Recorder()
    results = _run(specs, recorder, jobs)
    assert recorder.most <= jobs
    assert recorder.most == min(jobs, 6) or jobs == 1
    assert all(r.status == "ok" for r in results.values())
    assert len(results) == 6


def test_an_env_waits_for_its_dependencies() -> None:
    specs = [spec("cov", depends=("py3*",)), spec("py311"), spec("py312")]
    recorder = Recorder()
    _run(specs, recorder, jobs=3)
    assert recorder.order[-1] == "cov"


def test_dependents_run_even_when_a_dependency_failed() -> None:
    specs = [spec("cov", depends=("py*",)), spec("py311")]
    results = _run(specs, Recorder(fail={"py311"}), jobs=2)
    assert results["cov"].status == "ok"
    assert results["py311"].status == "fail"


def test_cycles_are_an_error_naming_them() -> None:
    specs = [spec("a", depends=("b",)), spec("b", depends=("c",)), spec("c", depends=("a",))]
    with pytest.raises(EnvSelectionError, match="depends forms a cycle: a -> b -> c -> a"):
        dependency_order(specs)


def test_fail_fast_starts_nothing_after_a_failure() -> None:
    specs = [spec("a"), spec("b"), spec("c")]
    recorder = Recorder(fail={"a"})
    results = _run(specs, recorder, jobs=1, fail_fast=True)
    assert recorder.order == ["a"]
    assert results["b"].status == results["c"].status == "skip"
    assert "--fail-fast" in results["b"].reason


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_dependency_order_is_respected_for_any_acyclic_graph(data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 6))
    names = [f"e{i}" for i in range(count)]
    # only edges to earlier envs: acyclic by construction
    depends = {
        n: tuple(data.draw(st.sets(st.sampled_from(names[:i]))) if i else ()) for i, n in enumerate(names)
    }
    specs = [spec(n, depends=depends[n]) for n in reversed(names)]
    recorder = Recorder(pause=0)
    _run(specs, recorder, jobs=data.draw(st.integers(1, 3)))
    position = {n: i for i, n in enumerate(recorder.order)}
    for name, deps in depends.items():
        assert all(position[d] < position[name] for d in deps)
