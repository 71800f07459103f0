"""Scenarios and the loop that measures them: every tool, alternating A B C A B C, N rounds.

A scenario is (project, family, matrix size, sequential or parallel). Families:

* ``cold``: nothing cached for any tool before each sample (see Tool.reset_cold).
* ``warm``: second run, nothing changed (an untimed run first puts the envs in place).
* ``noop``: as warm, but the command is ``python -c pass`` (posargs), so the time is all setup overhead.
* ``dep``: one dependency line added (even rounds) or removed (odd rounds) since the last run.
* ``src``: one source file of the project changed since the last run.
* ``cache``: nixtox from a binary cache on a fresh store (a stub until ``nixtox cache`` exists).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nixbench.projects import EXTRA_DEP, PROJECTS, ProjectSpec, write_project
from nixbench.stats import sample_order, summarise
from nixbench.tools import NOOP_COMMAND, Tool, tool_environ

__all__ = ["GROUPS", "QUICK", "Bench", "Scenario", "parse_scenarios"]

BASELINE = "nixtox"


@dataclass(frozen=True)
class Scenario:
    id: str
    project: str
    family: str
    size: str
    parallel: bool = False

    @property
    def key(self) -> str:
        return self.id if self.project == "pyproj" else f"{self.project}:{self.id}"

    def envs(self) -> tuple[str, ...]:
        return PROJECTS[self.project].selections.get(self.size, ())


def _catalog() -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for family in ("cold", "warm", "noop"):
        for size in ("1", "3", "6", "12"):
            out[f"{family}-{size}"] = Scenario(f"{family}-{size}", "pyproj", family, size)
            if size != "1" and family != "noop":
                out[f"{family}-{size}-par"] = Scenario(
                    f"{family}-{size}-par", "pyproj", family, size, parallel=True
                )
    out["dep-1"] = Scenario("dep-1", "pyproj", "dep", "1")
    out["src-1"] = Scenario("src-1", "pyproj", "src", "1")
    for family in ("cold", "warm"):
        for size in ("1", "all"):
            sc = Scenario(f"{family}-{size}", "demo", family, size)
            out[sc.key] = sc
    out["binary-cache"] = Scenario("binary-cache", "pyproj", "cache", "1")
    return out


CATALOG = _catalog()
GROUPS = {
    "core": ["cold-1", "cold-6", "warm-1", "warm-6", "noop-1", "noop-6"],
    "change": ["dep-1", "src-1"],
    "matrix": [f"{f}-{n}" for f in ("cold", "warm") for n in ("1", "3", "6", "12")]
    + [f"{f}-{n}-par" for f in ("cold", "warm") for n in ("3", "6", "12")],
    "demo": ["demo:cold-1", "demo:cold-all", "demo:warm-1", "demo:warm-all"],
    "cache": ["binary-cache"],
}
GROUPS["all"] = list(
    dict.fromkeys(GROUPS["core"] + GROUPS["change"] + GROUPS["matrix"] + GROUPS["demo"] + GROUPS["cache"])
)
QUICK = ["cold-1", "warm-1", "noop-1", "warm-3"]


def parse_scenarios(text: str) -> list[Scenario]:
    """Comma list of scenario keys and group names, in order, duplicates dropped."""
    keys: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part in GROUPS:
            keys.extend(GROUPS[part])
        elif part in CATALOG:
            keys.append(part)
        else:
            known = ", ".join([*GROUPS, *CATALOG])
            raise SystemExit(f"error: unknown scenario {part!r} (known: {known})")
    return [CATALOG[k] for k in dict.fromkeys(keys)]


def applies(tool: Tool, sc: Scenario) -> str | None:
    """Why the tool is left out of the scenario, or None."""
    if tool.cold_level == "wheels-in-store" and sc.family != "cold":
        return "cold variant only"
    if sc.parallel and not tool.supports_parallel:
        return "no parallel mode" if tool.kind == "nox" else "parallel not supported by this version"
    return None


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


@dataclass
class Bench:
    tools: Sequence[Tool]
    workdir: Path
    repeats: int
    timeout: float
    #: host interpreters' bin dirs, put on PATH for every tool (tox and nox discover pythons there)
    python_bins: tuple[Path, ...] = ()
    log: Callable[[str], None] = print
    #: written into every project's source, so this run's store paths are its own
    salt: str = ""

    def __post_init__(self) -> None:
        self.specs: dict[tuple[str, str], ProjectSpec] = {}
        self.primed: dict[tuple[str, str], tuple[ProjectSpec, frozenset[str]]] = {}

    # ------------------------------------------------------------------ places

    def project_dir(self, tool: Tool, project: str) -> Path:
        return self.workdir / _slug(tool.name) / project

    def cache_dir(self, tool: Tool) -> Path:
        return self.workdir / _slug(tool.name) / "cache"

    def spec(self, tool: Tool, project: str) -> ProjectSpec:
        return self.specs.setdefault((tool.name, project), PROJECTS[project].with_salt(self.salt))

    def write(self, tool: Tool, project: str, spec: ProjectSpec) -> Path:
        self.specs[(tool.name, project)] = spec
        return write_project(spec, self.project_dir(tool, project))

    # ------------------------------------------------------------------ one run

    def invoke(self, tool: Tool, sc: Scenario, *, posargs: Sequence[str] = ()) -> dict[str, Any]:
        root = self.project_dir(tool, sc.project)
        scratch = self.workdir / "scratch"
        scratch.mkdir(exist_ok=True)
        result_json = scratch / f"{_slug(tool.name)}-result.json"
        times_file = scratch / f"{_slug(tool.name)}-times.jsonl"
        for f in (result_json, times_file):
            f.unlink(missing_ok=True)
        env = tool_environ(self.cache_dir(tool), tool.path_prefix + self.python_bins)
        env["BENCH_COMMAND_TIMES"] = str(times_file)
        profile_file = scratch / f"{_slug(tool.name)}-profile.jsonl"
        profile_file.unlink(missing_ok=True)
        if tool.kind == "nixtox":
            env["NIXTOX_PROFILE"] = str(profile_file)  # where its time goes (src/nixtox/_profile.py)
        argv = tool.argv(sc.envs(), result_json=result_json, parallel=sc.parallel, posargs=posargs)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        try:
            done = subprocess.run(
                argv, cwd=root, env=env, capture_output=True, text=True, timeout=self.timeout, check=False
            )
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            code, output = -1, f"timeout after {self.timeout} s\n{exc.stdout or ''}"
        seconds = time.perf_counter() - start
        command = tool.command_seconds(result_json, times_file)
        sample: dict[str, Any] = {
            "seconds": round(seconds, 4),
            "ok": code == 0,
            "exit_code": code,
            "command_seconds": None if command is None else round(command, 4),
            "setup_seconds": None if command is None or sc.parallel else round(seconds - command, 4),
            "loadavg_before": round(load_before, 2),
            "loadavg_after": round(os.getloadavg()[0], 2),
        }
        phases = read_profile(profile_file)
        if phases is not None:
            sample["phases"] = phases
            sample["profile_events"] = read_profile_events(profile_file)
        if code != 0:
            sample["output_tail"] = output[-3000:]
            sample["argv"] = argv
        return sample

    def _ensure_warm(self, tool: Tool, sc: Scenario, spec: ProjectSpec, posargs: Sequence[str]) -> None:
        self.write(tool, sc.project, spec)
        if self.primed.get((tool.name, sc.project)) != (spec, frozenset(sc.envs())):
            self.log(f"  {tool.name}: untimed run to warm up")
            prime = self.invoke(tool, sc, posargs=posargs)
            if not prime["ok"]:
                self.log(f"  {tool.name}: warm-up failed (exit {prime['exit_code']})")
            self.primed[(tool.name, sc.project)] = (spec, frozenset(sc.envs()))

    def sample(self, tool: Tool, sc: Scenario, round_: int) -> dict[str, Any]:
        base = self.spec(tool, sc.project)
        posargs = NOOP_COMMAND if sc.family == "noop" else ()
        extra: dict[str, Any] = {}
        if sc.family == "cold":
            spec = base.with_extra_dep(None)
            self.write(tool, sc.project, spec)

            def prime() -> bool:
                return bool(self.invoke(tool, sc)["ok"])

            for other in self.tools:
                # both nixtox variants build the same paths: the other's roots would keep them alive
                if other is not tool and other.kind == "nixtox":
                    shutil.rmtree(self.project_dir(other, sc.project) / ".nixtox", ignore_errors=True)
                    self.primed.pop((other.name, sc.project), None)
            extra["reset"] = tool.reset_cold(
                self.project_dir(tool, sc.project), self.cache_dir(tool), prime, envs=sc.envs()
            )
            self.primed.pop((tool.name, sc.project), None)
        elif sc.family in ("warm", "noop"):
            spec = base.with_extra_dep(None)
            self._ensure_warm(tool, sc, spec, posargs)
        elif sc.family == "dep":
            adding = round_ % 2 == 0
            before = base.with_extra_dep(None if adding else EXTRA_DEP)
            spec = base.with_extra_dep(EXTRA_DEP if adding else None)
            self._ensure_warm(tool, sc, before, posargs)
            self.write(tool, sc.project, spec)
            extra["change"] = f"{'added' if adding else 'removed'} {EXTRA_DEP}"
        elif sc.family == "src":
            before = base.with_extra_dep(None)
            self._ensure_warm(tool, sc, before, posargs)
            spec = before.with_source_revision(before.source_revision + 1)
            self.write(tool, sc.project, spec)
            extra["change"] = f"source revision {spec.source_revision}"
        else:  # pragma: no cover
            raise ValueError(sc.family)
        if extra.get("reset", {}).get("kept_alive_outputs"):
            self.log(
                f"  {tool.name}: warning: {extra['reset']['kept_alive_outputs']} store outputs are rooted "
                "elsewhere and stay: this sample is not fully cold"
            )
        result = self.invoke(tool, sc, posargs=posargs)
        self.primed[(tool.name, sc.project)] = (spec, frozenset(sc.envs()))
        return {"round": round_, **result, **extra}

    # ------------------------------------------------------------------ one scenario

    def run(self, sc: Scenario) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": sc.key,
            "project": sc.project,
            "family": sc.family,
            "size": sc.size,
            "parallel": sc.parallel,
            "envs": list(sc.envs()),
            "status": "ok",
            "tools": {},
        }
        if sc.family == "cache":
            return self._binary_cache(out)
        active = []
        for tool in self.tools:
            reason = applies(tool, sc)
            if reason:
                out["tools"][tool.name] = {"skipped": reason}
            else:
                out["tools"][tool.name] = {"samples": []}
                active.append(tool)
        by_name = {t.name: t for t in active}
        for round_, name in sample_order([t.name for t in active], self.repeats):
            self.log(f"{sc.key}: round {round_ + 1}/{self.repeats}: {name}")
            try:
                s = self.sample(by_name[name], sc, round_)
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                # a failed reset or write: keep going with the other tools, record why
                s = {"round": round_, "seconds": None, "ok": False, "exit_code": None, "error": str(exc)}
                self.log(f"  {name}: harness error: {exc}")
                out["tools"][name]["samples"].append(s)
                continue
            self.log(
                f"  {name}: {s['seconds']:.2f} s{'' if s['ok'] else ' FAILED exit ' + str(s['exit_code'])}"
            )
            out["tools"][name]["samples"].append(s)
        summarise_scenario(out)
        return out

    def _binary_cache(self, out: dict[str, Any]) -> dict[str, Any]:
        """nixtox with nothing in the store but a signed file:// binary cache holding the env.

        Once, untimed: a key pair, a run, ``nixtox cache push``. Each sample: the same store deletions
        as ``cold`` (nothing in store), then a timed ``nixtox run`` whose config names the cache as its
        substituter. Compare with the ``cold-N`` row of ``nixtox``, which builds everything.
        """
        base = next((t for t in self.tools if t.kind == "nixtox" and t.cold_level == "empty-store"), None)
        if base is None:
            out["status"] = "not run (nixtox not selected)"
            return out
        probe = subprocess.run([str(base.executable), "cache", "--help"], capture_output=True, check=False)
        if probe.returncode != 0:
            out["status"] = "not available yet (no `nixtox cache`)"
            return out
        tool = Tool("nixtox (binary cache)", "nixtox", base.executable, cold_level="empty-store")
        out["tools"][tool.name] = {"samples": []}
        home = self.workdir / "binary-cache"
        home.mkdir(parents=True, exist_ok=True)
        cache_url = f"file://{home / 'cache'}"
        key = "nixtox-bench-1"
        subprocess.run(
            [str(tool.executable), "cache", "keygen", key, "--dir", str(home)],
            capture_output=True,
            check=True,
        )
        public = (home / f"{key}.pub").read_text(encoding="utf-8").strip()
        sc_project = out["project"]
        spec = self.spec(tool, sc_project).with_tox_core(
            f"substituters = {cache_url}", f"trusted_public_keys = {public}"
        )
        root = self.write(tool, sc_project, spec)
        sc = Scenario(out["key"], sc_project, "cold", out["size"])
        self.log(f"{sc.key}: untimed run and push to {cache_url}")
        if not self.invoke(tool, sc)["ok"]:
            out["status"] = "setup failed: the untimed run did not pass"
            return out
        env = tool_environ(self.cache_dir(tool), self.python_bins)
        push = subprocess.run(
            [
                str(tool.executable),
                "cache",
                "push",
                "--root",
                ".",
                "-e",
                ",".join(sc.envs()),
                "--to",
                cache_url,
                "--secret-key-file",
                str(home / f"{key}.sec"),
            ],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if push.returncode != 0:
            out["status"] = f"setup failed: nixtox cache push: {(push.stdout + push.stderr)[-500:]}"
            return out
        for round_ in range(self.repeats):
            self.log(f"{sc.key}: round {round_ + 1}/{self.repeats}: {tool.name}")

            def prime() -> bool:
                return bool(self.invoke(tool, sc)["ok"])

            reset = tool.reset_cold(root, self.cache_dir(tool), prime, envs=sc.envs())
            sample = {"round": round_, **self.invoke(tool, sc), "reset": reset}
            self.log(f"  {tool.name}: {sample['seconds']:.2f} s{'' if sample['ok'] else ' FAILED'}")
            out["tools"][tool.name]["samples"].append(sample)
        summarise_scenario(out)
        return out


#: the profile's events, grouped into the phases of the per-phase table (first match wins)
PHASE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interpreter start-up and imports", ("startup",)),
    ("config: load, expand, select", ("stage:load", "stage:expand", "stage:select")),
    ("lock: interpreters, pins", ("stage:lock",)),
    ("render and fingerprint (git ls-files)", ("stage:render",)),
    ("Nix evaluation (nix-instantiate)", ("call:nix-instantiate",)),
    ("Nix realisation (nix-store --realise)", ("call:nix-store --realise",)),
    ("other Nix queries", ("call:nix-store", "call:nix")),
    ("Nix build steps (sum over steps)", ("built:", "fetched:", "copied:", "build:")),
    ("commands", ("commands",)),
    ("reports", ("stage:report",)),
)


def read_profile(path: Path) -> dict[str, float] | None:
    """Seconds per phase group of the last nixtox invocation profiled into ``path`` (None: none),
    plus ``realise`` (the whole stage: evaluation, build, queries) and ``total``."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        data = json.loads(lines[-1])
    except (OSError, ValueError, IndexError):
        return None
    phases = dict.fromkeys([name for name, _ in PHASE_GROUPS], 0.0)
    stages: dict[str, float] = {}
    for name, seconds in data["events"]:
        if name.startswith("stage:"):
            stages[name] = stages.get(name, 0.0) + seconds
        for group, prefixes in PHASE_GROUPS:
            if any(name == p or name.startswith(p if p.endswith(":") else p + " ") for p in prefixes):
                phases[group] += seconds
                break
    phases["realise stage (evaluation, builds, queries)"] = stages.get("stage:realise", 0.0)
    phases["total"] = float(data["total"])
    return {k: round(v, 4) for k, v in phases.items()}


def read_profile_events(path: Path) -> list[list[Any]] | None:
    """The raw events of the last invocation in ``path`` (kept in the results, to regroup later)."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return list(json.loads(lines[-1])["events"])
    except (OSError, ValueError, IndexError, KeyError):
        return None


def summarise_scenario(out: dict[str, Any]) -> None:
    """Add summary, setup summary and ratio-to-nixtox to every tool entry of a scenario result."""
    for entry in out["tools"].values():
        samples = entry.get("samples")
        if samples is None:
            continue
        ok = [s for s in samples if s["ok"]]
        summary = summarise([s["seconds"] for s in ok], failures=len(samples) - len(ok))
        entry["summary"] = summary.as_json() if summary else None
        setup = summarise([s.get("setup_seconds") for s in ok])
        entry["setup_summary"] = setup.as_json() if setup else None
    base = out["tools"].get(BASELINE, {}).get("summary")
    for entry in out["tools"].values():
        mine = entry.get("summary")
        entry["ratio"] = (
            None if not mine or not base or base["median"] <= 0 else round(mine["median"] / base["median"], 3)
        )
