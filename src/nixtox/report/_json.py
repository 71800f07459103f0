"""``--result-json``: tox 4's result schema plus nixtox's per-env fields.

Every key is documented in ``docs/reference/result-json.md``; keys are only ever added, never renamed, so
tools written for tox's journal (``testenvs.<env>.result.success``, ``.test[].retcode`` ...) keep working.
"""

from __future__ import annotations

import platform
import socket
import sys
from collections.abc import Sequence
from typing import Any

from nixtox import __version__
from nixtox.model import CommandOutcome, EnvResult, Interpreter, Phase, Status

__all__ = ["REPORT_VERSION", "TOX_SCHEMA", "env_json", "result_json"]

#: tox's ``reportversion``: the layout of the document, unchanged since tox 3.
REPORT_VERSION = "1"
#: written as ``toxversion``: the tox major version whose journal layout this follows (not an installed tox).
TOX_SCHEMA = "4"


def _command(outcome: CommandOutcome, index: int) -> dict[str, Any]:
    return {
        "command": list(outcome.command.as_json()),
        "retcode": outcome.exit_code,
        "ok": outcome.ok,
        "output": outcome.output,
        # nixtox merges stderr into output (one stream, in order), as tox does for commands by default
        "err": "",
        "elapsed": round(outcome.seconds, 4),
        "start": outcome.started,
        "end": round(outcome.started + outcome.seconds, 4),
        "phase": outcome.phase,
        "run_id": f"{outcome.phase}[{index}]",
    }


def _commands(result: EnvResult, *, setup: bool) -> list[dict[str, Any]]:
    """tox's journal: extra_setup_commands under ``setup``, pre/main/post under ``test``."""
    per_phase: dict[str, int] = {}
    records = []
    for outcome in result.commands:
        index = per_phase.get(outcome.phase, 0)
        per_phase[outcome.phase] = index + 1
        if Phase(outcome.phase).in_setup == setup:
            records.append(_command(outcome, index))
    return records


def _python(interp: Interpreter, request: str | None) -> dict[str, Any]:
    markers = dict(interp.marker_env)
    return {
        "implementation": interp.implementation,
        "version": ".".join(map(str, interp.version)),
        "version_info": list(interp.version),
        "executable": str(interp.executable),
        "provider": interp.provider,
        "request": request,
        "free_threaded": interp.free_threaded,
        "sysplatform": markers.get("sys_platform"),
        "machine": markers.get("platform_machine"),
        "extra_version_info": None,
    }


def _installpkg(result: EnvResult) -> dict[str, Any] | None:
    """tox's ``installpkg``: here the package is built inside the env's store path, so no file to hash."""
    if not result.spec.installs_package:
        return None
    return {"type": "nix", "format": result.spec.package_format}


def env_json(result: EnvResult) -> dict[str, Any]:
    """One ``testenvs.<label>`` entry."""
    spec = result.spec
    realised = result.realised
    locked = realised.locked if realised else None
    data: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "package_format": spec.package_format,
        "factors": list(spec.factors),
        "python_request": spec.python,
        "description": spec.config.description,
        "change_dir": str(spec.config.change_dir),
        "result": {
            "success": result.status == Status.OK,
            "status": str(result.status),
            "skipped": result.status == Status.SKIP,
            "ignore_outcome": spec.config.ignore_outcome,
            "exit_code": result.exit_code,
            "reason": result.reason,
            "duration": round(result.setup_seconds + result.command_seconds, 4),
            "setup_seconds": round(result.setup_seconds, 4),
            "command_seconds": round(result.command_seconds, 4),
        },
        "setup": _commands(result, setup=True),
        "test": _commands(result, setup=False),
        "store_path": str(realised.store_path) if realised else None,
        "drv_path": realised.drv_path if realised else None,
        "fingerprint": realised.rendered.fingerprint if realised else None,
        "cached": bool(realised and realised.cached),
        "installpkg": _installpkg(result),
    }
    if locked is not None:
        data["python"] = _python(locked.interpreter, spec.python)
        data["installed_packages"] = sorted(f"{d.name}=={d.version}" for d in locked.dists)
    return data


def result_json(results: Sequence[EnvResult], *, seconds: float, exit_code: int) -> dict[str, Any]:
    """The whole document: ``json.dumps`` of it is what ``--result-json`` writes."""
    return {
        "reportversion": REPORT_VERSION,
        "toxversion": TOX_SCHEMA,
        "nixtoxversion": __version__,
        "platform": sys.platform,
        "host": socket.getfqdn(),
        "machine": platform.machine(),
        "duration": round(seconds, 4),
        "exit_code": exit_code,
        "testenvs": {r.spec.label: env_json(r) for r in results},
    }
