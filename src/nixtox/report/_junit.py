"""``--junit``: one ``<testsuite>`` per env, one ``<testcase>`` per command, in Jenkins' JUnit schema.

The XML is built from the result JSON (``testenvs.<label>``), so ``nixtox run --junit`` and
``nixtox report --junit`` write the same file. When a command wrote its own JUnit file
(``pytest --junitxml=PATH``), its testcases join the env's testsuite with the env label before their
classname, so one CI report shows every env's tests side by side.
"""

from __future__ import annotations

import shlex
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nixtox.model import EnvResult
from nixtox.report._json import env_json
from nixtox.report._read import run_envs
from nixtox.report._text import clean_output

__all__ = ["junit_paths", "junit_xml", "merged_tests", "write_junit"]

#: a JUnit file counts as written by a command when its mtime is this close to the command's run.
MTIME_SLACK = 2.0
#: a ``start`` before this (2001-09-09) is a monotonic clock reading (tox writes those), not a date.
EPOCH_2001 = 1_000_000_000.0
#: attributes the schema allows on each testcase child, so a merged pytest file stays valid.
_CHILD_ATTRS = {
    "skipped": ("message",),
    "error": ("message", "type"),
    "failure": ("message", "type"),
    "system-out": (),
    "system-err": (),
}


def junit_paths(argv: Sequence[str], cwd: Path) -> list[Path]:
    """The JUnit files ``argv`` asks a test runner to write (``--junitxml=P``, ``--junit-xml P``): the rule
    the check builder follows inside Nix, from the same module."""
    from nixtox.run._tox import junit_values  # noqa: PLC0415 - the run package imports this one

    return [cwd / value for value in junit_values(argv)]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _first_line(text: str, default: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else default


def _child(case: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    element = ET.SubElement(case, tag, attrs)
    element.text = clean_output(text) if text else None
    return element


def command_argv(record: Mapping[str, Any]) -> list[str]:
    """The command as configured (nixtox's ``configured``), else as run (tox's ``command``)."""
    return [str(a) for a in record.get("configured") or record.get("command") or []]


def command_ok(record: Mapping[str, Any]) -> bool:
    return bool(record.get("ok", record.get("retcode") in (0, None)))


def _command_case(label: str, record: Mapping[str, Any], *, ignore_outcome: bool) -> ET.Element:
    run_id = record.get("run_id") or record.get("phase", "commands")
    case = ET.Element(
        "testcase",
        name=f"{run_id} {shlex.join(command_argv(record))}",
        classname=label,
        time=_seconds(float(record.get("elapsed") or 0.0)),
    )
    output = str(record.get("output", ""))
    ok = command_ok(record)
    message = f"exit code {record.get('retcode')}"
    if ok:
        if output:
            _child(case, "system-out", output)
    elif ignore_outcome:
        _child(case, "skipped", message=f"{message}, ignored (ignore_outcome = true)")
        _child(case, "system-out", output)
    else:
        _child(case, "failure", output, message=message, type="exit code")
    return case


def _merged_case(label: str, case: ET.Element, *, ignore_outcome: bool) -> ET.Element:
    classname = case.get("classname", "")
    merged = ET.Element(
        "testcase", name=case.get("name", ""), classname=f"{label}.{classname}" if classname else label
    )
    if case.get("time") is not None:
        merged.set("time", case.get("time", "0"))
    failed = case.find("failure") is not None or case.find("error") is not None
    if ignore_outcome and failed:  # the env's failures do not fail the run: report them as skipped
        _child(merged, "skipped", message="failed, ignored (ignore_outcome = true)")
    for tag, allowed in _CHILD_ATTRS.items():  # the schema's order: skipped, error, failure, out, err
        if ignore_outcome and failed and tag in ("skipped", "error", "failure"):
            continue
        for child in case.findall(tag)[: 1 if tag == "skipped" else None]:
            _child(merged, tag, child.text or "", **{k: v for k, v in child.attrib.items() if k in allowed})
    return merged


#: the run windows of every command that names a JUnit file, by file
Claims = Mapping[Path, Sequence[tuple[float, float]]]


def _window(record: Mapping[str, Any]) -> tuple[float, float]:
    start = float(record.get("start") or 0.0)
    return start - MTIME_SLACK, start + float(record.get("elapsed") or 0.0) + MTIME_SLACK


def _claims(envs: Mapping[str, Mapping[str, Any]]) -> dict[Path, list[tuple[float, float]]]:
    claims: dict[Path, list[tuple[float, float]]] = {}
    for env in envs.values():
        cwd = Path(env.get("change_dir") or ".")
        for record in env.get("test") or []:
            for path in junit_paths(command_argv(record), cwd):
                claims.setdefault(path, []).append(_window(record))
    return claims


def _runner_cases(
    label: str, record: Mapping[str, Any], cwd: Path, claims: Claims, *, ignore_outcome: bool = False
) -> tuple[list[ET.Element], list[str]]:
    """Testcases of the JUnit files the command wrote, and notes on files left out (and why).

    A file counts as this command's when it was last written while the command ran, and while no other
    command naming the same file ran (formats of one env share ``{env_tmp_dir}`` and may run at once).
    """
    cases: list[ET.Element] = []
    notes: list[str] = []
    low, high = _window(record)
    for path in junit_paths(command_argv(record), cwd):
        try:
            mtime = path.stat().st_mtime
        except OSError:
            notes.append(f"nixtox: {path} was not written, nothing merged")
            continue
        if not low <= mtime <= high:
            notes.append(
                f"nixtox: {path} was written at {_iso(mtime)}Z, outside this command's run, so not merged"
                " (another env overwrote it? give each env its own file)"
            )
            continue
        if sum(a <= mtime <= b for a, b in claims.get(path, [])) > 1:
            notes.append(
                f"nixtox: {path} was written while several envs' commands that write it ran, so it is not"
                " merged (it may be another env's); give each env its own file"
            )
            continue
        try:
            tree = ET.parse(path)  # the file the user's own test command just wrote
        except ET.ParseError as exc:
            notes.append(f"nixtox: {path} is not valid XML ({exc}), nothing merged")
            continue
        cases.extend(
            _merged_case(label, case, ignore_outcome=ignore_outcome)
            for case in tree.getroot().iter("testcase")
        )
    return cases, notes


def _failed(case: ET.Element) -> bool:
    return case.find("failure") is not None or case.find("error") is not None


def env_status(env: Mapping[str, Any]) -> str:
    result = env.get("result") or {}
    if result.get("status"):
        return str(result["status"])
    if result.get("skipped"):
        return "skip"
    return "ok" if result.get("success") else "fail"


def _command_cases(label: str, env: Mapping[str, Any], claims: Claims, out: list[str]) -> list[ET.Element]:
    """The rule: a command whose test runner wrote a JUnit file nixtox merged is represented by that
    file's tests (its output goes to the suite's ``system-out``), plus its own failing testcase only
    when it failed but none of its tests did (a coverage threshold, a crash after the tests); any other
    command is one testcase. So one failing test is one failure."""
    ignore = bool((env.get("result") or {}).get("ignore_outcome"))
    cwd = Path(env.get("change_dir") or ".")
    cases: list[ET.Element] = []
    for record in env.get("test") or []:
        case = _command_case(label, record, ignore_outcome=ignore)
        merged, notes = _runner_cases(label, record, cwd, claims, ignore_outcome=ignore)
        if not merged:
            if notes:
                _child(case, "system-err", "\n".join(notes))
            cases.append(case)
            continue
        cases += merged
        out.append(f"{case.get('name')}\n{clean_output(str(record.get('output', '')))}")
        if not command_ok(record) and not ignore and not any(_failed(c) for c in merged):
            cases.append(case)
        out.extend(notes)
    return cases


def _env_cases(label: str, env: Mapping[str, Any], claims: Claims, out: list[str]) -> list[ET.Element]:
    result = env.get("result") or {}
    status = env_status(env)
    if status == "skip":
        case = ET.Element("testcase", name="skipped", classname=label, time="0.000")
        _child(case, "skipped", message=result.get("reason") or "skipped")
        return [case]
    cases = _command_cases(label, env, claims, out)
    reported = any(c.find("failure") is not None or c.find("error") is not None for c in cases)
    if status in ("error", "interrupted") or (status == "fail" and not reported):
        reason = result.get("reason") or status
        tag = "failure" if status == "fail" else "error"
        case = ET.Element("testcase", name="setup" if status == "error" else status, classname=label)
        case.set("time", _seconds(float(result.get("setup_seconds", 0.0))))
        _child(case, tag, reason, message=_first_line(reason, status), type=status)
        cases.insert(0 if status == "error" else len(cases), case)
    return cases


def _properties(suite: ET.Element, env: Mapping[str, Any]) -> None:
    values = {
        "status": env_status(env),
        "package_format": env.get("package_format"),
        "python": (env.get("python") or {}).get("version"),
        "store_path": env.get("store_path"),
        "drv_path": env.get("drv_path"),
        "fingerprint": env.get("fingerprint"),
        "cached": str(env.get("cached", False)).lower(),
        "ran_on": env.get("ran_on"),
        "result_path": env.get("result_path"),
    }
    properties = ET.SubElement(suite, "properties")
    for name, value in values.items():
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=str(value))


def _suite(
    label: str, env: Mapping[str, Any], *, index: int, host: str, now: float, claims: Claims
) -> ET.Element:
    starts = [float(r["start"]) for r in env.get("test") or [] if r.get("start") is not None]
    suite = ET.Element("testsuite", name=label, id=str(index), package=str(env.get("name", label)))
    _properties(suite, env)
    out: list[str] = []
    cases = _env_cases(label, env, claims, out)
    suite.extend(cases)
    if out:
        _child(suite, "system-out", "\n".join(out))
    suite.attrib.update(
        tests=str(len(cases)),
        failures=str(sum(c.find("failure") is not None for c in cases)),
        errors=str(sum(c.find("error") is not None for c in cases)),
        skipped=str(sum(c.find("skipped") is not None for c in cases)),
        time=_seconds(float((env.get("result") or {}).get("duration") or 0.0)),
        # tox records monotonic clock readings, not dates: those say nothing about when the env ran
        timestamp=_iso(min(starts) if starts and min(starts) > EPOCH_2001 else now),
        hostname=host,
    )
    return suite


def junit_xml(data: Mapping[str, Any], *, now: float | None = None) -> bytes:
    """The JUnit XML document (UTF-8) for a result JSON document; ``now`` stamps envs that ran nothing."""
    host = str(data.get("host") or socket.gethostname())
    stamp = time.time() if now is None else now
    envs = run_envs(data)
    root = ET.Element("testsuites", name="nixtox")
    claims = _claims(envs)
    for index, (label, env) in enumerate(envs.items()):
        root.append(_suite(label, env, index=index, host=host, now=stamp, claims=claims))
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    root.set("time", _seconds(float(data.get("duration", sum(float(s.get("time", "0")) for s in root)))))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def write_junit(results: Sequence[EnvResult], path: Path, *, seconds: float | None = None) -> None:
    """Write the JUnit XML of a run to ``path`` (parent directories are created)."""
    data: dict[str, Any] = {
        "host": socket.getfqdn(),
        "testenvs": {r.spec.label: env_json(r) for r in results},
    }
    if seconds is not None:
        data["duration"] = seconds
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit_xml(data))


def merged_tests(data: Mapping[str, Any]) -> dict[str, list[ET.Element]]:
    """Per env label, the testcases merged from its commands' JUnit files (classname ``label.module``)."""
    envs = run_envs(data)
    claims = _claims(envs)
    found: dict[str, list[ET.Element]] = {}
    for label, env in envs.items():
        cwd = Path(env.get("change_dir") or ".")
        ignore = bool((env.get("result") or {}).get("ignore_outcome"))
        for record in env.get("test") or []:
            found.setdefault(label, []).extend(
                _runner_cases(label, record, cwd, claims, ignore_outcome=ignore)[0]
            )
    return found
