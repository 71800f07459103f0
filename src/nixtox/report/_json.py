"""``--result-json``: tox 4's result schema, key for key, plus nixtox's per-env fields.

Every key is documented in ``docs/reference/result-json.md``; tox's keys carry tox's value types (a test
compares a real tox file with nixtox's, recursively), nixtox's keys are only ever added, never renamed.
"""

from __future__ import annotations

import platform
import re
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from nixtox import __version__
from nixtox.model import CommandOutcome, EnvResult, Interpreter, Phase, RealisedEnv
from nixtox.report._lines import redact_argv
from nixtox.report._logs import command_runs
from nixtox.report._package import PackageFile, installed_dists, normalize, package_file

__all__ = ["REPORT_VERSION", "TOX_SCHEMA_VERSION", "env_json", "result_json"]

#: tox's ``reportversion``: the layout of the document, unchanged since tox 3.
REPORT_VERSION = "1"
#: written as ``toxversion``: the tox release whose journal layout this file follows and was checked
#: against (tests/integration/test_result_schema.py runs that tox); not the version of an installed tox,
#: which would make the file vary between machines for the same nixtox.
TOX_SCHEMA_VERSION = "4.67.15"

_FULL_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:(a|b|rc)(\d+))?")
_RELEASE_LEVELS = {"a": "alpha", "b": "beta", "rc": "candidate"}
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "graalpy": "GraalVM", "ironpython": "IronPython"}
_32_BIT = re.compile(r"(i[3-6]86|x86$|armv[5-7]|arm$|ppc$|win32|s390$)")


def _command(outcome: CommandOutcome, run_id: str) -> dict[str, Any]:
    argv = list(outcome.command.argv)
    if outcome.executable is not None:
        argv[0] = outcome.executable  # as tox writes it: the program that ran, by absolute path
    return {
        "command": redact_argv(argv),
        # nixtox merges stderr into output (one stream, in order), as tox does for commands by default
        "output": outcome.output,
        "err": "",
        "retcode": outcome.exit_code,
        "elapsed": round(outcome.seconds, 4),
        "show_on_standard": True,
        "run_id": run_id,
        "start": outcome.started,
        "end": round(outcome.started + outcome.seconds, 4),
        "ok": outcome.ok,
        "phase": outcome.phase,
        "configured": redact_argv(outcome.command.as_json()),
    }


def _commands(result: EnvResult, *, setup: bool) -> list[dict[str, Any]]:
    """tox's journal: extra_setup_commands under ``setup``, pre/main/post under ``test``."""
    runs = command_runs(result.commands)
    return [
        _command(outcome, run_id)
        for outcome, (run_id, _) in zip(result.commands, runs, strict=True)
        if Phase(outcome.phase).in_setup == setup
    ]


def _setup(result: EnvResult) -> list[dict[str, Any]]:
    """The Nix build, in tox's command record shape (tox lists its pip installs here)."""
    realised = result.realised
    if realised is None:
        return []
    end = result.commands[0].started if result.commands else time.time()
    # the Nix build is over when the first command starts (extra_setup_commands come after it)
    elapsed = 0.0 if realised.cached else result.setup_seconds
    built = not realised.cached and realised.drv_path is not None
    command = ["nix-store", "--realise", "--keep-going", realised.drv_path] if built else []
    note = "" if built else "up to date: nothing built (fingerprint matched)\n"
    return [
        {
            "command": [str(a) for a in command],
            "output": f"{note}{realised.store_path}\n",
            "err": "",
            "retcode": 0,
            "elapsed": round(elapsed, 4),
            "show_on_standard": False,
            "run_id": "nix-build",
            "start": round(end - elapsed, 4),
            "end": round(end, 4),
        }
    ]


def _version_info(interp: Interpreter, markers: Mapping[str, str]) -> list[int | str]:
    """``sys.version_info``'s five items, from the interpreter's ``python_full_version``."""
    match = _FULL_VERSION.match(markers.get("python_full_version", ""))
    if match is None:
        return [*interp.version, "final", 0]
    level = _RELEASE_LEVELS.get(match[4] or "", "final")
    return [int(match[1]), int(match[2]), int(match[3]), level, int(match[5] or 0)]


def _is_64(interp: Interpreter, markers: Mapping[str, str]) -> bool:
    """The interpreter's build, by the platform of its first wheel tag (a 32-bit Python on a 64-bit
    kernel gets ``linux_i686`` there), else by the machine."""
    where = interp.tags[0].rsplit("-", 1)[-1] if interp.tags else markers.get("platform_machine", "")
    return _32_BIT.search(where.lower()) is None


def _debug(interp: Interpreter) -> bool:
    """A debug build (``--with-pydebug``): its ABI tag ends in ``d`` (``cp312d``, ``cp313td``)."""
    parts = interp.tags[0].split("-") if interp.tags else []
    return len(parts) == 3 and parts[1].startswith("cp") and parts[1].endswith("d")


def _python(interp: Interpreter, request: str | None) -> dict[str, Any]:
    markers = dict(interp.marker_env)
    return {
        "implementation": markers.get("platform_python_implementation")
        or _IMPLEMENTATIONS.get(interp.implementation, interp.implementation),
        "version_info": _version_info(interp, markers),
        # tox writes the full sys.version; nixtox's probe records the version number it was built from
        "version": markers.get("python_full_version") or ".".join(map(str, interp.version)),
        "is_64": _is_64(interp, markers),
        "sysplatform": markers.get("sys_platform"),
        "extra_version_info": None,
        "free_threaded": interp.free_threaded,
        "debug": _debug(interp),
        "machine": markers.get("platform_machine"),
        "executable": str(interp.executable),
        "provider": interp.provider,
        "request": request,
    }


def _installed(realised: RealisedEnv, package: PackageFile | None) -> list[str]:
    """``pip freeze`` of the env: what its store path holds, the project by its package file."""
    dists = installed_dists(realised)
    if dists is None:  # an env built before nixtox-env.json existed: the lock's view
        dists = sorted(((d.name, d.version) for d in realised.locked.dists), key=lambda d: d[0].lower())
    project = normalize(package.name) if package is not None else None
    return [
        f"{name} @ {package.path.as_uri()}" if package is not None and normalize(name) == project
        else f"{name}=={version}"
        for name, version in dists
    ]  # fmt: skip


def _installpkg(package: PackageFile | None) -> dict[str, Any] | None:
    if package is None:
        return None
    return {"basename": package.path.name, "type": "file", "sha256": package.sha256}


def _result(result: EnvResult) -> dict[str, Any]:
    return {
        "success": result.status == "ok",
        "exit_code": result.exit_code,
        "duration": round(result.setup_seconds + result.command_seconds, 4),
        "skipped": result.status == "skip",
        "status": result.status,
        "ignore_outcome": result.spec.config.ignore_outcome,
        "reason": result.reason,
        "setup_seconds": round(result.setup_seconds, 4),
        "command_seconds": round(result.command_seconds, 4),
    }


def env_json(result: EnvResult) -> dict[str, Any]:
    """One ``testenvs.<label>`` entry: tox's keys in tox's order, then nixtox's."""
    spec, realised = result.spec, result.realised
    package = package_file(realised) if realised is not None else None
    data: dict[str, Any] = {}
    if realised is not None:
        data["python"] = _python(realised.locked.interpreter, spec.python)
        if (installpkg := _installpkg(package)) is not None:
            data["installpkg"] = installpkg
        data["installed_packages"] = _installed(realised, package)
    data["result"] = _result(result)
    data["test"] = _commands(result, setup=False)
    data["setup"] = [*_setup(result), *_commands(result, setup=True)]
    data.update(
        {
            "name": spec.name,
            "label": spec.label,
            "package_format": spec.package_format,
            "factors": list(spec.factors),
            "python_request": spec.python,
            "description": spec.config.description,
            "change_dir": str(spec.config.change_dir),
            "store_path": str(realised.store_path) if realised else None,
            "drv_path": realised.drv_path if realised else None,
            "fingerprint": realised.rendered.fingerprint if realised else None,
            "cached": bool(realised and realised.cached),
            "log_dir": str(result.log_dir) if result.log_dir is not None else None,
            "package_version": package.version if package is not None else None,
        }
    )
    return data


def result_json(
    results: Sequence[EnvResult],
    *,
    seconds: float,
    exit_code: int,
    project: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole document: ``json.dumps`` of it is what ``--result-json`` writes."""
    envs = {r.spec.label: env_json(r) for r in results}
    about = dict(project or {})
    if about.get("version") is None:
        about["version"] = next((e["package_version"] for e in envs.values() if e["package_version"]), None)
    return {
        "reportversion": REPORT_VERSION,
        "toxversion": TOX_SCHEMA_VERSION,
        "platform": sys.platform,
        "host": socket.getfqdn(),
        "testenvs": envs,
        "nixtoxversion": __version__,
        "machine": platform.machine(),
        "duration": round(seconds, 4),
        "exit_code": exit_code,
        "project": {
            "name": about.get("name"),
            "version": about.get("version"),
            "commit": about.get("commit"),
        },
    }
