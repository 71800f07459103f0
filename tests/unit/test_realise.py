from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from nixtox.errors import NixtoxError
from nixtox.model import RealisedEnv
from nixtox.nix import RealiseOutcome
from nixtox.realise import RealiseResult, realise_envs
from nixtox.render import render_env
from tests.unit._values import ATTRS, SDIST_ONLY, locked, spec
from tests.unit.fake_nix import FakeNix


def realised_of(result: RealiseResult) -> dict[str, RealisedEnv]:
    return {k: v for k, v in result.outcomes.items() if isinstance(v, RealisedEnv)}


def failed_of(result: RealiseResult) -> dict[str, str]:
    return {k: v.message for k, v in result.outcomes.items() if isinstance(v, NixtoxError)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    (root / "pkg" / "__init__.py").write_text("")
    return root


def _render(root: Path, *names: str, dists: tuple = (ATTRS,)) -> list:  # type: ignore[type-arg]
    return [render_env(locked(spec(n), dists=dists), root=root, project_name="demo") for n in names]


def test_first_run_builds_all_in_one_call_second_run_calls_no_nix(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store")
    work = project / ".nixtox"
    first = realise_envs(_render(project, "py311", "py312"), work_dir=work, nix=nix)
    assert not failed_of(first)
    assert [c.split()[0] for c in nix.calls] == ["instantiate", "realise", "add_root", "add_root"]
    assert all(not r.cached for r in realised_of(first).values())
    assert (work / "gcroots" / "py312").resolve() == realised_of(first)["py312"].store_path
    nix.calls.clear()
    second = realise_envs(_render(project, "py311", "py312"), work_dir=work, nix=nix)
    assert nix.calls == []
    assert all(r.cached for r in realised_of(second).values())
    assert realised_of(second)["py312"].store_path == realised_of(first)["py312"].store_path


def test_changed_deps_rebuild_only_that_env(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store")
    work = project / ".nixtox"
    realise_envs(_render(project, "py311", "py312"), work_dir=work, nix=nix)
    nix.calls.clear()
    envs = _render(project, "py311") + _render(project, "py312", dists=(ATTRS, SDIST_ONLY))
    result = realise_envs(envs, work_dir=work, nix=nix)
    assert nix.calls[0] == "instantiate envs.py312"
    assert realised_of(result)["py311"].cached
    assert not realised_of(result)["py312"].cached


def test_recreate_forces_a_build(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store")
    work = project / ".nixtox"
    realise_envs(_render(project, "py312"), work_dir=work, nix=nix)
    nix.calls.clear()
    realise_envs(_render(project, "py312"), work_dir=work, nix=nix, recreate=True)
    assert nix.calls[0].startswith("instantiate")


def test_deleted_store_path_is_rebuilt(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store")
    work = project / ".nixtox"
    out = realised_of(realise_envs(_render(project, "py312"), work_dir=work, nix=nix))["py312"].store_path
    out.rmdir()
    nix.calls.clear()
    realise_envs(_render(project, "py312"), work_dir=work, nix=nix)
    assert nix.calls
    assert nix.calls[0].startswith("instantiate")


def test_a_failing_build_fails_only_its_env(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store", failing={"envs.py311"})
    result = realise_envs(_render(project, "py311", "py312"), work_dir=project / ".nixtox", nix=nix)
    assert set(failed_of(result)) == {"py311"}
    assert "boom" in failed_of(result)["py311"]
    assert set(realised_of(result)) == {"py312"}


def test_an_evaluation_error_is_attributed_to_its_env(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store", broken_eval={"envs.py311"})
    result = realise_envs(_render(project, "py311", "py312"), work_dir=project / ".nixtox", nix=nix)
    assert set(failed_of(result)) == {"py311"}
    assert "evaluation of envs.py311" in failed_of(result)["py311"]
    assert set(realised_of(result)) == {"py312"}


def test_state_survives_a_corrupt_file(project: Path, tmp_path: Path) -> None:
    nix = FakeNix(tmp_path / "store")
    work = project / ".nixtox"
    realise_envs(_render(project, "py312"), work_dir=work, nix=nix)
    (work / "state.json").write_text("{not json")
    result = realise_envs(_render(project, "py312"), work_dir=work, nix=nix)
    assert "py312" in realised_of(result)


class CollectingNix(FakeNix):
    """A fake whose garbage collector runs after every call: whatever no root points at is gone."""

    def __init__(self, store: Path, roots_dirs: list[Path], **kwargs: set[str]) -> None:
        super().__init__(store, **kwargs)
        self.roots_dirs = roots_dirs
        self.drvs: set[str] = set()
        self.links: list[Path] = []

    def _add_roots(self, root: Path | None, paths: list[str]) -> None:  # type: ignore[override]
        before = len(self.roots_added)
        super()._add_roots(root, paths)
        if root is not None:
            self.links += [root.with_name(name) for name, _ in self.roots_added[before:]]

    def _collect(self) -> None:
        live = {str(link.resolve(strict=False)) for link in self.links if link.is_symlink()}
        live |= {
            str(p.resolve()) for d in self.roots_dirs if d.is_dir() for p in d.iterdir() if p.is_symlink()
        }
        self.drvs &= {d for d in self.drvs if d in live or str(self.output_path(d)) in live}
        for out in self.store.iterdir() if self.store.is_dir() else ():
            if str(out) not in live:
                out.rmdir()

    def is_valid(self, path: Path) -> bool:
        return str(path) in self.drvs if path.name.endswith(".drv") else super().is_valid(path)

    def instantiate(self, expr_file: Path, attrs, *, root: Path | None = None) -> list[str]:  # type: ignore[no-untyped-def]
        drvs = super().instantiate(expr_file, attrs, root=root)
        self.drvs |= set(drvs)
        self._collect()
        return drvs

    def realise(self, drvs, *, root: Path | None = None, watcher=None):  # type: ignore[no-untyped-def]
        gone = [d for d in drvs if d not in self.drvs]
        assert not gone, f"don't know how to build these paths: {gone}"
        outcome = super().realise(drvs, root=root, watcher=watcher)
        self._collect()
        return outcome


@pytest.mark.parametrize("failing", [set(), {"py311"}])
def test_a_collection_between_nix_calls_never_deletes_what_a_run_built(
    project: Path, tmp_path: Path, failing: set[str]
) -> None:
    work = project / ".nixtox"
    nix = CollectingNix(tmp_path / "store", [work / "gcroots"], failing={f"envs.{k}" for k in failing})
    result = realise_envs(_render(project, "py311", "py312"), work_dir=work, nix=nix)
    assert set(failed_of(result)) == failing
    assert realised_of(result)["py312"].store_path.is_dir()  # rooted: survived every collection
    assert (work / "gcroots" / "py312").resolve() == realised_of(result)["py312"].store_path
    assert {name for name, _ in nix.roots_added} >= {"drvs", "drvs-2"}
    # temporary roots are removed afterwards
    assert not list(Path(tempfile.gettempdir()).glob(f"nixtox-roots-{os.getpid()}-*"))


class RacingCollectorNix(FakeNix):
    """Nix 2.8's race (NixOS/nix#6757): the collector deletes a derivation the evaluation just returned,
    so the first realisation cannot build it; evaluating again writes it again."""

    def __init__(self, store: Path, lose: str) -> None:
        super().__init__(store)
        self.lose = lose
        self.raced = False

    def realise(self, drvs, *, root: Path | None = None, watcher=None):  # type: ignore[no-untyped-def]
        victim = next((d for d in drvs if d.endswith(f"-{self.lose}.drv")), None)
        if victim is None or self.raced:
            return super().realise(drvs, root=root, watcher=watcher)
        self.raced = True
        self.written.discard(victim)
        self.calls.append(f"realise {len(drvs)}")
        for drv in drvs:
            if drv != victim:
                self.output_path(drv).mkdir(parents=True, exist_ok=True)
        said = f"error: path '{victim}' does not exist and cannot be created"
        return RealiseOutcome(False, (), {}, said, 0.0)


def test_a_derivation_a_concurrent_collection_deleted_is_evaluated_and_built_again(
    project: Path, tmp_path: Path
) -> None:
    nix = RacingCollectorNix(tmp_path / "store", lose="envs.py312")
    result = realise_envs(_render(project, "py311", "py312"), work_dir=project / ".nixtox", nix=nix)
    assert set(realised_of(result)) == {"py311", "py312"}, failed_of(result)
    assert nix.calls.count("instantiate envs.py312") == 1  # only the lost env is evaluated again
    assert realised_of(result)["py312"].store_path.is_dir()
