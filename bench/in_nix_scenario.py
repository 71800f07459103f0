"""In-Nix runs (``nixtox run --in-nix``) on the benchmark's 12-env matrix (``pyproj``):

1. **builders**: the whole matrix after a source edit (every env's package, env and test run are new
   derivations), with ``--max-jobs 0`` (nothing builds here) on 1 remote builder, then on 2; samples
   alternate A B A B. The builders are the test suite's simulated machines
   (``tests/integration/_machines.py``: namespaces of *this* machine with stores of their own, one job
   each), warmed first by an untimed run, so both sides start from builders that hold the wheels and
   interpreters already and differ only in how many machines the matrix is spread over.
2. **cached**: nothing changed since the last run: ``nixtox run --in-nix`` (every result from the state,
   no test runs) against ``nixtox run`` on the host (the envs are up to date, the tests run), the same
   matrix, alternating.

Run it with the repository's venv (it uses the machines of the test suite, which need root and sshd):
``.venv/bin/python bench/in_nix_scenario.py [--rounds 3] [--docs]``. Writes
``bench/results/in-nix-12.json``; ``--docs`` also rewrites the table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from nixbench.machine import machine_info  # noqa: E402
from nixbench.projects import PYPROJ, write_project  # noqa: E402

NIXTOX = [sys.executable, "-m", "nixtox"]
RESULTS = HERE / "results" / "in-nix-12.json"
DOCS = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- in-nix:begin -->", "<!-- in-nix:end -->"


def _nixtox(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one ``nixtox run`` and its result JSON."""
    report = project.parent / f"result-{uuid.uuid4().hex[:8]}.json"
    full = {k: v for k, v in os.environ.items() if not k.startswith("NIXTOX_")}
    full.update(env or {})
    start = time.monotonic()
    done = subprocess.run(
        [*NIXTOX, "run", "--result-json", str(report), *args],
        cwd=project, env=full, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"nixtox run {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    data: dict[str, Any] = json.loads(report.read_text())
    report.unlink()
    return seconds, data


def _edit(project: Path, salt: str) -> None:
    write_project(replace(PYPROJ, salt=salt), project)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def builders(project: Path, rounds: int, run_id: str) -> dict[str, Any]:
    from tests.integration._machines import start_machines  # noqa: PLC0415 - needs pytest, root, sshd

    samples: dict[str, list[float]] = {"1 builder": [], "2 builders": []}
    spread: dict[str, list[dict[str, int]]] = {"1 builder": [], "2 builders": []}
    with start_machines(2, Path(tempfile.mkdtemp(prefix="nixtox-bench-machines-"))) as machines:
        configs = {
            "1 builder": machines.builders_for(machines.machines[:1]),
            "2 builders": machines.builders,
        }
        for name, machines_arg in configs.items():  # untimed: the builders' stores get wheels, interpreters
            _edit(project, f"{run_id}-warm-{name}")
            _nixtox(project, "--in-nix", "-p", "auto", "--builders", machines_arg, "--max-jobs", "0",
                    env=machines.env)  # fmt: skip
        for index in range(rounds):
            for name, machines_arg in configs.items():
                _edit(project, f"{run_id}-{index}-{name}")
                seconds, data = _nixtox(
                    project, "--in-nix", "-p", "auto", "--builders", machines_arg, "--max-jobs", "0",
                    env=machines.env,
                )  # fmt: skip
                envs = data["testenvs"].values()
                if any(env["result_cached"] or env["ran_on"] == "local" for env in envs):
                    raise RuntimeError(f"{name}: an env did not run on a builder")
                ran_on: dict[str, int] = {}
                for env in envs:
                    ran_on[env["ran_on"]] = ran_on.get(env["ran_on"], 0) + 1
                samples[name].append(round(seconds, 2))
                spread[name].append(ran_on)
    one, two = _median(samples["1 builder"]), _median(samples["2 builders"])
    return {"samples": samples, "ran_on": spread, "median": {"1 builder": one, "2 builders": two},
            "ratio": round(one / two, 2)}  # fmt: skip


def cached(project: Path, rounds: int, run_id: str) -> dict[str, Any]:
    _edit(project, f"{run_id}-cached")
    _nixtox(project, "--in-nix", "-p", "auto")  # the results, built and run once
    _nixtox(project)  # the host envs, realised once
    samples: dict[str, list[float]] = {"in Nix, cached": [], "host": []}
    #: the session's own seconds (result JSON ``duration``): the process minus interpreter start-up
    sessions: dict[str, list[float]] = {"in Nix, cached": [], "host": []}
    for _ in range(rounds):
        seconds, data = _nixtox(project, "--in-nix")
        if not all(env["result_cached"] for env in data["testenvs"].values()):
            raise RuntimeError("a cached --in-nix run ran something")
        samples["in Nix, cached"].append(round(seconds, 2))
        sessions["in Nix, cached"].append(round(data["duration"], 2))
        seconds, data = _nixtox(project)
        samples["host"].append(round(seconds, 2))
        sessions["host"].append(round(data["duration"], 2))
    in_nix, host = _median(samples["in Nix, cached"]), _median(samples["host"])
    return {
        "samples": samples,
        "sessions": sessions,
        "median": {"in Nix, cached": in_nix, "host": host},
        "session_median": {k: _median(v) for k, v in sessions.items()},
        "ratio": round(host / in_nix, 2),
    }


def table(data: dict[str, Any]) -> str:
    info, b, c = data["machine"], data["builders"], data["cached"]
    spread = "; ".join(
        f"{name}: " + ", ".join(f"{host} {n}" for host, n in sorted(runs[-1].items()))
        for name, runs in b["ran_on"].items()
    )
    return "\n".join(
        [
            BEGIN,
            "<!-- generated by bench/in_nix_scenario.py from bench/results/in-nix-12.json; do not edit -->",
            "",
            f"Run `{data['run']}`: {len(b['samples']['1 builder'])} sample(s) per side with builders, "
            f"{len(c['samples']['host'])} per side cached, {info.get('nproc')} cores, "
            f"1-min load average up to {data['max_load']:.2f} (other work ran on the machine: noisy).",
            "",
            "| 12-env matrix, `nixtox run --in-nix` | median seconds | samples |",
            "|---|---:|---|",
            f"| after a source edit, 1 builder (`--max-jobs 0`) | {b['median']['1 builder']} | "
            f"{', '.join(map(str, b['samples']['1 builder']))} |",
            f"| after a source edit, 2 builders (`--max-jobs 0`) | {b['median']['2 builders']} | "
            f"{', '.join(map(str, b['samples']['2 builders']))} |",
            f"| nothing changed, `--in-nix` (every result cached) | {c['median']['in Nix, cached']} | "
            f"{', '.join(map(str, c['samples']['in Nix, cached']))} |",
            "| nothing changed, host run (`nixtox run`: envs up to date, tests run) | "
            f"{c['median']['host']} | "
            f"{', '.join(map(str, c['samples']['host']))} |",
            "",
            f"1 builder / 2 builders: **{b['ratio']}x**; host run / cached in-Nix run: **{c['ratio']}x**. "
            f"Where the envs ran (last sample): {spread}. Wall time of the whole `nixtox` process; of"
            f" it, the session (result JSON `duration`, without the interpreter's start-up) took a median"
            f" {c['session_median']['in Nix, cached']} s for the cached in-Nix run"
            f" ({c['session_median']['host']} s for the host run).",
            END,
        ]
    )


def _write_docs(text: str) -> None:
    page = DOCS.read_text(encoding="utf-8")
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOCS.write_text(head + text + tail, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--docs", action="store_true", help="rewrite the table in docs/benchmarks.md")
    parser.add_argument(
        "--parts",
        default="builders,cached",
        help="what to measure (the others' figures are kept from the last run)",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(",")) - {""}
    last = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    if not parts:  # --parts '': the table again, from the last results
        _write_docs(table(last))
        return 0
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="nixtox-bench-in-nix-") as tmp:
        project = Path(tmp) / "pyproj"
        _edit(project, run_id)
        loads: list[float] = []
        built = builders(project, args.rounds, run_id) if "builders" in parts else last["builders"]
        loads.append(os.getloadavg()[0])
        warm = cached(project, args.rounds, run_id) if "cached" in parts else last["cached"]
        loads.append(os.getloadavg()[0])
    if parts != {"builders", "cached"}:
        loads.append(last.get("max_load", 0.0))
        run_id = f"{last.get('run', '?')} (builders), {run_id} (cached)" if "cached" in parts else run_id
    data = {"run": run_id, "rounds": args.rounds, "machine": machine_info(REPO, {}), "max_load": max(loads),
            "builders": built, "cached": warm}  # fmt: skip
    RESULTS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    text = table(data)
    print(text)
    if args.docs:
        _write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
