#!/usr/bin/env python3
"""The edit loop on a real project's own tox config: nixtox against tox-uv (and tox), same checkout.

    python bench/real_project.py CHECKOUT --env py312 --edit src/pkg/module.py [--repeats 5]

Each tool gets its own copy of CHECKOUT (``git clone`` of it, so only committed files), its own caches
(as ``bench/run.py``), and the same interpreters on ``PATH`` (pyenv's). Per tool, after one untimed run:
``warm`` (a run with nothing changed) and ``src-1`` (a run after one line is appended to ``--edit``, a
different line each time), alternating tools round by round. Reported: median wall seconds, and the
median time of the test commands from each tool's ``--result-json``, so "commands as fast as under
tox" is checked on a real suite too. Results go to ``bench/results/real-<name>.json``; the Markdown
table is printed (and written into docs/benchmarks.md between ``real:begin``/``real:end`` with
``--docs``). The checkout itself is never changed and never committed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from nixbench import peers  # noqa: E402
from nixbench.machine import find_pythons  # noqa: E402
from nixbench.tools import command_seconds_from_result_json, tool_environ  # noqa: E402

BEGIN, END = "<!-- real:begin -->", "<!-- real:end -->"


def _median(values: list[float]) -> float | None:
    values = sorted(values)
    return values[len(values) // 2] if values else None


def _argv(tool: str, bins: dict[str, Path], nixtox: Path, env: str, result: Path) -> list[str]:
    if tool == "nixtox":
        return [str(nixtox), "run", "-e", env, "--result-json", str(result)]
    return [str(bins[tool] / "tox"), "run", "-e", env, "--result-json", str(result)]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkout", type=Path)
    p.add_argument("--env", required=True)
    p.add_argument("--edit", required=True, help="file (relative to the checkout) to append a line to")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tools", default="nixtox,tox-uv")
    p.add_argument("--nixtox", type=Path, default=REPO / ".venv" / "bin" / "nixtox")
    p.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    return p.parse_args(argv)


class _Runner:
    def __init__(self, args: argparse.Namespace, work: Path, tools: list[str]) -> None:
        pythons = find_pythons()
        self.bins = peers.ensure_venvs(HERE / ".venv", python=pythons.get("3.12", sys.executable), log=print)
        self.args, self.work = args, work
        path = tuple(Path(x).parent for x in pythons.values())
        self.environs = {t: tool_environ(work / f"cache-{t}", path) for t in tools}

    def run(self, tool: str) -> dict[str, Any]:
        result = self.work / f"{tool}.json"
        result.unlink(missing_ok=True)
        argv = _argv(tool, self.bins, self.args.nixtox.resolve(), self.args.env, result)
        start = time.perf_counter()
        done = subprocess.run(
            argv, cwd=self.work / tool, env=self.environs[tool], capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
        commands = None
        if result.is_file():
            commands = command_seconds_from_result_json(json.loads(result.read_text(encoding="utf-8")))
        sample: dict[str, Any] = {
            "seconds": round(seconds, 3),
            "ok": done.returncode == 0,
            "commands": commands,
        }
        if done.returncode != 0:
            sample["output_tail"] = (done.stdout + done.stderr)[-2000:]
        return sample


def _measure(args: argparse.Namespace, tools: list[str], work: Path) -> dict[str, dict[str, list[Any]]]:
    samples: dict[str, dict[str, list[Any]]] = {t: {"warm": [], "src-1": []} for t in tools}
    for tool in tools:
        subprocess.run(["git", "clone", "-q", str(args.checkout), str(work / tool)], check=True)
    runner = _Runner(args, work, tools)
    for tool in tools:
        print(f"{tool}: untimed first run", flush=True)
        first = runner.run(tool)
        if not first["ok"]:
            print(first.get("output_tail", ""), flush=True)
    for round_ in range(args.repeats):
        for tool in tools:
            samples[tool]["warm"].append(runner.run(tool))
            with (work / tool / args.edit).open("a", encoding="utf-8") as handle:
                handle.write(f"\n# bench edit {round_}\n")
            samples[tool]["src-1"].append(runner.run(tool))
            warm, src = samples[tool]["warm"][-1], samples[tool]["src-1"][-1]
            failed = "" if warm["ok"] and src["ok"] else " FAILED"
            print(
                f"round {round_}: {tool} warm {warm['seconds']:.2f} s, src-1 {src['seconds']:.2f} s{failed}"
            )
    return samples


def _write_docs(table: str, source: Path) -> None:
    docs = REPO / "docs" / "benchmarks.md"
    text = docs.read_text(encoding="utf-8")
    note = f"<!-- generated by bench/real_project.py from {source.relative_to(REPO)}; do not edit -->"
    block = f"{BEGIN}\n{note}\n\n{table}\n{END}"
    if BEGIN in text:
        head, _, rest = text.partition(BEGIN)
        text = head + block + rest.partition(END)[2]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    docs.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    commit = subprocess.run(
        ["git", "-C", str(args.checkout), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="nixtox-real-"))
    try:
        samples = _measure(args, tools, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    name = args.checkout.resolve().name
    results = {
        "project": name, "commit": commit, "env": args.env, "edit": args.edit, "repeats": args.repeats,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(), "nproc": os.cpu_count(),
        "loadavg_end": list(os.getloadavg()), "samples": samples,
    }  # fmt: skip
    out = HERE / "results" / f"real-{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    table = render(results)
    print(table)
    if args.docs:
        _write_docs(table, out)
    return 0


def render(results: dict[str, Any]) -> str:
    tools = list(results["samples"])
    lines = [
        f"`{results['project']}` at `{results['commit'][:12]}`, env `{results['env']}`, "
        f"{results['repeats']} rounds; edit: a line appended to `{results['edit']}`.",
        "",
        "| scenario | " + " | ".join(f"{t} wall | {t} commands" for t in tools) + " | tox-uv / nixtox |",
        "|---|" + "---:|---:|" * len(tools) + "---:|",
    ]
    for scenario in ("warm", "src-1"):
        cells, walls = [], {}
        for tool in tools:
            ok = [s for s in results["samples"][tool][scenario] if s["ok"]]
            wall = _median([s["seconds"] for s in ok])
            commands = _median([s["commands"] for s in ok if s["commands"] is not None])
            walls[tool] = wall
            cells += [f"{wall:.2f}" if wall is not None else "failed", f"{commands:.2f}" if commands else ""]
        ratio = ""
        if walls.get("nixtox") and walls.get("tox-uv"):
            ratio = f"{walls['tox-uv'] / walls['nixtox']:.2f}"
        lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
