"""``nixtox report --html``: the env matrix of a result JSON as one self-contained HTML page.

Rows are interpreter requests (``py311``, ``py312`` ...), columns package format x the env's other factors;
each cell links to an anchored ``<details>`` section with the env's command output. No external assets:
the page is one file a CI job can archive.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from nixtox.report._text import clean_output, tail

__all__ = ["Cell", "EnvView", "Matrix", "html_report", "matrix", "write_html"]

#: a command's output is cut to its last this many characters on the page (the JSON keeps all of it).
OUTPUT_LIMIT = 200_000
#: row title for envs that ask for no particular interpreter.
ANY_PYTHON = "any python"
#: column title for envs with no factor besides the interpreter.
NO_FACTORS = "—"
_TOX_PY_FACTOR = re.compile(r"^(py|pypy|cpython)\d+(t)?$")
_PY_REQUEST = re.compile(r"^(?P<impl>[a-z]*?)(?P<major>\d)\.?(?P<minor>\d+)?(?P<rest>.*)$")


@dataclass(frozen=True)
class CommandView:
    run_id: str
    shown: str
    retcode: int
    ok: bool
    elapsed: str
    output: str
    cut: int


@dataclass(frozen=True)
class EnvView:
    anchor: str
    label: str
    status: str  # ok | fail | skip | error | interrupted
    ignored: bool
    duration: str
    cached: bool
    reason: str
    row: str
    column: tuple[str, str]  # (other factors, package format)
    details: tuple[tuple[str, str], ...]
    packages: tuple[str, ...]
    commands: tuple[CommandView, ...]

    @property
    def status_text(self) -> str:
        text = {"ok": "OK", "fail": "FAIL", "skip": "SKIP", "error": "ERROR"}.get(self.status, "INTERRUPTED")
        return f"{text} (ignored)" if self.ignored else text


@dataclass(frozen=True)
class Cell:
    envs: tuple[EnvView, ...]

    @property
    def status(self) -> str:
        """The worst outcome in the cell (a cell holds more than one env only for reordered factors)."""
        order = ("error", "interrupted", "fail", "ok", "skip")
        return min((e.status for e in self.envs), key=order.index, default="none")


@dataclass(frozen=True)
class Matrix:
    rows: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    cells: Mapping[tuple[str, tuple[str, str]], Cell] = field(default_factory=dict)
    #: resolved interpreter versions per row (``py312`` -> ``3.12.1``).
    versions: Mapping[str, str] = field(default_factory=dict)

    def cell(self, row: str, column: tuple[str, str]) -> Cell | None:
        return self.cells.get((row, column))


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} m {rest:02d} s"


def _row_key(request: str) -> tuple[int, str, tuple[int, ...], str]:
    if request == ANY_PYTHON:
        return (2, "", (), request)
    match = _PY_REQUEST.match(request.lower())
    if match is None:
        return (1, "", (), request)
    impl = match["impl"] if match["impl"] not in ("py", "cpython", "python") else ""
    version = (int(match["major"]), int(match["minor"] or 0))
    return (0, impl, version, match["rest"])


def _anchor(label: str, index: int) -> str:
    return f"env-{index}-" + re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()


def _commands(env: Mapping[str, Any]) -> tuple[CommandView, ...]:
    views = []
    for record in env.get("test", []):
        output, cut = tail(clean_output(str(record.get("output", ""))), OUTPUT_LIMIT)
        views.append(
            CommandView(
                run_id=str(record.get("run_id") or record.get("phase", "commands")),
                shown=shlex.join(str(a) for a in record.get("command", [])),
                retcode=int(record["retcode"]),
                ok=bool(record.get("ok", record["retcode"] == 0)),
                elapsed=duration(float(record.get("elapsed", 0.0))),
                output=output,
                cut=cut,
            )
        )
    return tuple(views)


def _details(env: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    python = env.get("python") or {}
    result = env["result"]
    pairs = [
        ("description", env.get("description") or ""),
        ("package format", env.get("package_format") or ""),
        ("python", " ".join(str(python[k]) for k in ("implementation", "version") if python.get(k))),
        ("interpreter", str(python.get("executable") or "")),
        ("store path", env.get("store_path") or ""),
        ("derivation", env.get("drv_path") or ""),
        ("fingerprint", env.get("fingerprint") or ""),
        ("cached", "yes" if env.get("cached") else "no"),
        ("time", f"setup {duration(float(result.get('setup_seconds', 0.0)))}"
                 f" + commands {duration(float(result.get('command_seconds', 0.0)))}"),
        ("exit code", str(result.get("exit_code", ""))),
    ]  # fmt: skip
    return tuple((k, v) for k, v in pairs if v)


def env_view(label: str, env: Mapping[str, Any], index: int) -> EnvView:
    result = env["result"]
    status = str(result.get("status") or ("ok" if result.get("success") else "fail"))
    factors = [str(f) for f in env.get("factors") or str(env.get("name", label)).split("-")]
    if "python_request" in env:
        request = env["python_request"]
    else:  # a file tox wrote: the interpreter is the name's pyXY factor, as tox derives it
        request = next((f for f in factors if _TOX_PY_FACTOR.match(f)), None)
    others = [f for f in factors if f != request]
    return EnvView(
        anchor=_anchor(label, index),
        label=label,
        status=status,
        ignored=status == "fail" and bool(result.get("ignore_outcome")),
        duration=duration(float(result.get("duration", 0.0))),
        cached=bool(env.get("cached")),
        reason=clean_output(str(result.get("reason") or "")),
        row=str(request) if request else ANY_PYTHON,
        column=("-".join(others) or NO_FACTORS, str(env.get("package_format") or "")),
        details=_details(env),
        packages=tuple(str(p) for p in env.get("installed_packages") or ()),
        commands=_commands(env),
    )


def matrix(envs: list[EnvView]) -> Matrix:
    """Rows sorted by interpreter version; columns in the order envs are listed, formats grouped."""
    rows = sorted({e.row for e in envs}, key=_row_key)
    factor_order = list(dict.fromkeys(e.column[0] for e in envs))
    format_order = list(dict.fromkeys(e.column[1] for e in envs))
    columns = sorted(
        {e.column for e in envs}, key=lambda c: (factor_order.index(c[0]), format_order.index(c[1]))
    )
    grouped: dict[tuple[str, tuple[str, str]], list[EnvView]] = {}
    versions: dict[str, set[str]] = {}
    for env in envs:
        grouped.setdefault((env.row, env.column), []).append(env)
        version = dict(env.details).get("python", "").rpartition(" ")[2]
        if version:
            versions.setdefault(env.row, set()).add(version)
    return Matrix(
        rows=tuple(rows),
        columns=tuple(columns),
        cells={key: Cell(tuple(value)) for key, value in grouped.items()},
        versions={row: ", ".join(sorted(v)) for row, v in versions.items()},
    )


def _template() -> jinja2.Template:
    text = resources.files("nixtox.report").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    environment = jinja2.Environment(
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined
    )
    return environment.from_string(text)


def html_report(data: Mapping[str, Any], *, title: str = "nixtox results") -> str:
    """The page for a result JSON document (``json.loads`` of ``--result-json``'s file)."""
    testenvs: Mapping[str, Mapping[str, Any]] = data.get("testenvs", {})
    envs = [env_view(label, env, index) for index, (label, env) in enumerate(testenvs.items())]
    counts = {s: sum(e.status == s for e in envs) for s in ("ok", "fail", "error", "skip", "interrupted")}
    passed = (
        int(data.get("exit_code", 0 if all(e.status in ("ok", "skip") or e.ignored for e in envs) else 1))
        == 0
    )
    return _template().render(
        title=title,
        data=data,
        envs=envs,
        matrix=matrix(envs),
        counts={k: v for k, v in counts.items() if v},
        passed=passed,
        total=duration(float(data.get("duration", 0.0))),
        single_format=len({e.column[1] for e in envs}) <= 1,
    )


def write_html(data: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(data), encoding="utf-8")
