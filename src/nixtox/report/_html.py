"""``nixtox report --html``: the env matrix of a result JSON as one self-contained HTML page.

Rows are interpreter requests (``py311``, ``py312`` ...), columns package format x the env's other factors;
each cell links to an anchored ``<details>`` section with the env's command output. No external assets:
the page is one file a CI job can archive.
"""

from __future__ import annotations

import os
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from nixtox.report._junit import command_argv, command_ok, env_status, merged_tests
from nixtox.report._read import run_envs
from nixtox.report._text import clean_output, tail

__all__ = ["Cell", "EnvView", "Matrix", "TestView", "html_report", "matrix", "tests_table", "write_html"]

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
    retcode: int | None
    ok: bool
    elapsed: str
    output: str
    cut: int
    #: link to the command's log file (``.nixtox/envs/<key>/log/<N>-<run_id>.log``), "" when unknown
    log: str = ""


@dataclass(frozen=True)
class TestView:
    """One test from a test runner's JUnit file that nixtox merged."""

    env: str
    anchor: str
    classname: str
    name: str
    outcome: str  # failed | error | skipped | passed
    seconds: str
    message: str
    details: str

    @property
    def rank(self) -> int:
        return ("error", "failed", "skipped", "passed").index(self.outcome)


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
    log_dir: str = ""

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


def _link(path: Path, base: Path | None) -> str:
    """A link from the page to a local file: relative to the page's directory (so an archive of both
    keeps working), else a file URI."""
    if base is None:
        return path.as_uri() if path.is_absolute() else path.as_posix()
    return Path(os.path.relpath(path, base)).as_posix()


def _commands(env: Mapping[str, Any], base: Path | None) -> tuple[CommandView, ...]:
    views = []
    log_dir = env.get("log_dir")
    for number, record in enumerate(env.get("test") or [], start=1):
        output, cut = tail(clean_output(str(record.get("output") or "")), OUTPUT_LIMIT)
        run_id = str(record.get("run_id") or record.get("phase", "commands"))
        log = _link(Path(log_dir) / f"{number}-{run_id}.log", base) if log_dir else ""
        views.append(
            CommandView(
                run_id=run_id,
                shown=shlex.join(command_argv(record)),
                retcode=record.get("retcode"),
                ok=command_ok(record),
                elapsed=duration(float(record.get("elapsed") or 0.0)),
                output=output,
                cut=cut,
                log=log,
            )
        )
    return tuple(views)


def _details(env: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    python = env.get("python") or {}
    result = env.get("result") or {}
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


def env_view(label: str, env: Mapping[str, Any], index: int, base: Path | None = None) -> EnvView:
    result = env.get("result") or {}
    status = env_status(env)
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
        duration=duration(float(result.get("duration") or 0.0)),
        cached=bool(env.get("cached")),
        reason=clean_output(str(result.get("reason") or "")),
        row=str(request) if request else ANY_PYTHON,
        column=("-".join(others) or NO_FACTORS, str(env.get("package_format") or "")),
        details=_details(env),
        packages=tuple(str(p) for p in env.get("installed_packages") or ()),
        commands=_commands(env, base),
        log_dir=_link(Path(env["log_dir"]), base) if env.get("log_dir") else "",
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


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _test_view(env: EnvView, case: ET.Element) -> TestView:
    outcome, message, details = "passed", "", ""
    for tag, name in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
        child = case.find(tag)
        if child is not None:
            outcome, message, details = name, child.get("message") or "", child.text or ""
            break
    classname = case.get("classname", "").removeprefix(env.label).removeprefix(".")
    seconds = case.get("time")
    return TestView(
        env=env.label,
        anchor=env.anchor,
        classname=classname,
        name=case.get("name", ""),
        outcome=outcome,
        seconds=duration(float(seconds)) if seconds else "",
        message=message or _last_line(details),
        details=details,
    )


def tests_table(data: Mapping[str, Any], envs: list[EnvView]) -> list[TestView]:
    """Every merged test of every env: failures and errors first, then skipped, then passed."""
    by_label = {e.label: e for e in envs}
    views = [
        _test_view(by_label[label], case)
        for label, cases in merged_tests(data).items()
        if label in by_label
        for case in cases
    ]
    return sorted(views, key=lambda t: t.rank)  # stable: env and file order within each outcome


def html_report(data: Mapping[str, Any], *, title: str = "nixtox results", base: Path | None = None) -> str:
    """The page for a result JSON document (``json.loads`` of ``--result-json``'s file); links to log
    files are relative to ``base``, the directory the page is written to."""
    testenvs = run_envs(data)
    envs = [env_view(label, env, index, base) for index, (label, env) in enumerate(testenvs.items())]
    tests = tests_table(data, envs)
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
        total=duration(float(data.get("duration") or 0.0)),
        single_format=len({e.column[1] for e in envs}) <= 1,
        project=data.get("project") or {},
        tests=tests,
        test_counts={o: sum(t.outcome == o for t in tests) for o in ("failed", "error", "skipped", "passed")},
        others=[label for label in data.get("testenvs") or {} if label not in testenvs],
    )


def write_html(data: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(data, base=path.parent.resolve()), encoding="utf-8")
