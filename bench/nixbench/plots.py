"""PNG plots of time against matrix size, one line per tool; run with the plot venv's python.

``python plots.py RESULTS.json OUTDIR`` writes bench-cold.png and bench-warm.png (sequential runs of the
pure-Python project; parallel runs as dashed lines) and prints the written paths, one a line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: one colour per tool in every plot
COLOURS = {
    "nixtox": "tab:blue",
    "nixtox (wheels in store)": "tab:cyan",
    "tox": "tab:green",
    "tox-uv": "tab:red",
    "nox": "tab:orange",
}


def series(results: dict, family: str) -> dict[tuple[str, bool], list[tuple[int, float]]]:
    """(tool, parallel) -> [(envs, median seconds)] sorted by size, for one family of the pyproj project."""
    out: dict[tuple[str, bool], list[tuple[int, float]]] = {}
    for sc in results["scenarios"]:
        if sc.get("status") != "ok" or sc["project"] != "pyproj" or sc["family"] != family:
            continue
        for tool, entry in sc["tools"].items():
            summary = entry.get("summary")
            if summary:
                out.setdefault((tool, sc["parallel"]), []).append((len(sc["envs"]), summary["median"]))
    return {k: sorted(v) for k, v in out.items()}


def main(argv: list[str]) -> int:
    import matplotlib  # noqa: PLC0415 - only the plot venv has matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    results = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    outdir = Path(argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    for family, title in (("cold", "cold: nothing cached"), ("warm", "warm: second run, nothing changed")):
        data = series(results, family)
        if not data:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
        for (tool, parallel), points in sorted(data.items()):
            xs, ys = zip(*points, strict=True)
            ax.plot(
                xs,
                ys,
                marker="o",
                color=COLOURS.get(tool),
                linestyle="--" if parallel else "-",
                label=f"{tool}{' -p auto' if parallel else ''}",
            )
        ax.set_xlabel("environments")
        ax.set_ylabel("median wall time (s)")
        ax.set_title(f"{title} ({results['run_id']})")
        ax.set_xticks(sorted({x for pts in data.values() for x, _ in pts}))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        path = outdir / f"bench-{family}.png"
        fig.savefig(path)
        plt.close(fig)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
