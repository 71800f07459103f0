"""Benchmark nixtox against tox, tox-uv and nox: ``python bench/run.py [--quick] [--scenarios a,b]``.

Stdlib only; creates bench/.venv/{tox,tox-uv,nox,plot} with pinned versions from PyPI. Writes
bench/results/<timestamp>.json and latest.json, the table in docs/benchmarks.md and plots in docs/img/.
See docs/benchmarks.md for the method.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from nixbench import peers, report  # noqa: E402
from nixbench.machine import find_pythons, machine_info, version_of  # noqa: E402
from nixbench.scenarios import GROUPS, QUICK, Bench, parse_scenarios  # noqa: E402
from nixbench.tools import make_tools  # noqa: E402


def nixtox_parallel(nixtox: Path) -> bool:
    done = subprocess.run([str(nixtox), "run", "--help"], capture_output=True, text=True, check=False)
    return "--parallel" in done.stdout or "\n  -p" in done.stdout


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help=f"1 sample, scenarios {','.join(QUICK)}; no docs update"
    )
    p.add_argument(
        "--scenarios", help=f"comma list of scenarios or groups ({', '.join(GROUPS)}); default: all"
    )
    p.add_argument("--repeats", type=int, help="samples per tool and scenario (default 3, --quick 1)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    p.add_argument("--nixtox", type=Path, default=REPO / ".venv" / "bin" / "nixtox", help="nixtox executable")
    p.add_argument("--workdir", type=Path, help="where projects and caches go (default: a temp dir, removed)")
    p.add_argument("--timeout", type=float, default=1200, help="seconds before one tool run is killed")
    p.add_argument(
        "--docs", type=Path, default=REPO / "docs" / "benchmarks.md", help="page with the bench markers"
    )
    p.add_argument(
        "--update-docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the table into --docs and plots into docs/img (default: yes unless --quick)",
    )
    p.add_argument("--tools", help="comma list of tool names to run (default: all)")
    return p.parse_args(argv)


def log(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM becomes SystemExit, so the temp work dir (and its GC roots) is removed on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scenarios = parse_scenarios(args.scenarios or (",".join(QUICK) if args.quick else "all"))
    repeats = args.repeats or (1 if args.quick else 3)
    update_docs = (not args.quick) if args.update_docs is None else args.update_docs
    pythons = find_pythons()
    bins = peers.ensure_venvs(HERE / ".venv", python=pythons.get("3.12", sys.executable), log=log)
    nixtox = args.nixtox.resolve()
    tools = make_tools(bins, nixtox, nixtox_parallel=nixtox_parallel(nixtox))
    if args.tools:
        wanted = [t.strip() for t in args.tools.split(",")]
        tools = [t for t in tools if t.name in wanted]
    tool_versions = {"nixtox": version_of([str(nixtox), "--version"]).rsplit(" ", 1)[-1]}
    tool_versions.update(peers.installed_versions(bins))
    started = dt.datetime.now(dt.timezone.utc)
    run_id = started.strftime("%Y%m%dT%H%M%SZ")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nixtox-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = {
        "run_id": run_id,
        "started": started.isoformat(),
        "argv": sys.argv[1:] if argv is None else argv,
        "quick": args.quick,
        "repeats": repeats,
        "machine": machine_info(REPO, pythons),
        "pins": peers.PINS,
        "tool_versions": tool_versions,
        "tools": [
            {"name": t.name, "kind": t.kind, "cold_level": t.cold_level, "parallel": t.supports_parallel}
            for t in tools
        ],
        "scenarios": [],
    }
    log(f"bench: {len(scenarios)} scenario(s) x {len(tools)} tool(s) x {repeats}; work dir {workdir}")
    bench = Bench(
        tools,
        workdir,
        repeats,
        args.timeout,
        python_bins=tuple(Path(p).parent for p in pythons.values()),
        log=log,
        salt=run_id,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for sc in scenarios:
            results["scenarios"].append(bench.run(sc))
            _write(results, args.out, run_id)  # partial results survive an interrupted run
    finally:
        results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat()
        results["loadavg_end"] = list(os.getloadavg())
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if update_docs:
        results["plots"] = _plots(bins["plot"], args.out / f"{run_id}.json", REPO / "docs" / "img", results)
        _update_docs(args.docs, results)
    path = _write(results, args.out, run_id)
    log(f"bench: results in {path}")
    log(report.render_table(results["scenarios"]))
    return 0


def _write(results: dict, out: Path, run_id: str) -> Path:
    text = json.dumps(results, indent=1) + "\n"
    path = out / f"{run_id}.json"
    path.write_text(text, encoding="utf-8")
    (out / "latest.json").write_text(text, encoding="utf-8")
    return path


def _plots(plot_bin: Path, results_path: Path, img: Path, results: dict) -> list[str]:
    _write(results, results_path.parent, results["run_id"])
    done = subprocess.run(
        [str(plot_bin / "python"), str(HERE / "nixbench" / "plots.py"), str(results_path), str(img)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        log(f"bench: plotting failed: {done.stderr.strip()[-500:]}")
        return []
    return [str(Path(line).relative_to(REPO)) for line in done.stdout.split() if line]


def _update_docs(docs: Path, results: dict) -> None:
    document = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    docs.write_text(report.replace_block(document, report.render_block(results)), encoding="utf-8")
    log(f"bench: table written into {docs}")


if __name__ == "__main__":
    sys.exit(main())
