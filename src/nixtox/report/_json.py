"""``--result-json``: tox 4's result schema plus nixtox's per-env fields."""

from __future__ import annotations

import platform
import socket
import sys
from collections.abc import Sequence
from typing import Any

from nixtox import __version__
from nixtox.model import CommandOutcome, EnvResult

__all__ = ["result_json"]


def _command(outcome: CommandOutcome) -> dict[str, Any]:
    return {
        "command": list(outcome.command.as_json()),
        "retcode": outcome.exit_code,
        "output": outcome.output,
        "elapsed": round(outcome.seconds, 4),
        "start": outcome.started,
        "phase": outcome.phase,
    }


def _env(result: EnvResult) -> dict[str, Any]:
    realised = result.realised
    locked = realised.rendered.locked if realised else None
    data: dict[str, Any] = {
        "name": result.spec.name,
        "label": result.spec.label,
        "package_format": result.spec.package_format,
        "result": {
            "success": result.status == "ok",
            "status": result.status,
            "exit_code": result.exit_code,
            "reason": result.reason,
            "duration": round(result.setup_seconds + result.command_seconds, 4),
            "setup_seconds": round(result.setup_seconds, 4),
            "command_seconds": round(result.command_seconds, 4),
        },
        "setup": [],
        "test": [_command(c) for c in result.commands],
        "store_path": str(realised.store_path) if realised else None,
        "drv_path": realised.drv_path if realised else None,
        "fingerprint": realised.rendered.fingerprint if realised else None,
        "cached": bool(realised and realised.cached),
    }
    if locked is not None:
        interp = locked.interpreter
        data["python"] = {
            "implementation": interp.implementation,
            "version": ".".join(map(str, interp.version)),
            "version_info": list(interp.version),
            "executable": str(interp.executable),
            "provider": interp.provider,
        }
        data["installed_packages"] = sorted(f"{d.name}=={d.version}" for d in locked.dists)
    return data


def result_json(results: Sequence[EnvResult], *, seconds: float, exit_code: int) -> dict[str, Any]:
    return {
        "reportversion": "1",
        "nixtoxversion": __version__,
        "platform": sys.platform,
        "host": socket.getfqdn(),
        "machine": platform.machine(),
        "duration": round(seconds, 4),
        "exit_code": exit_code,
        "testenvs": {r.spec.label: _env(r) for r in results},
    }
