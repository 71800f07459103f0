"""Builder of ``mkEnv``: a venv at ``$out`` with every wheel installed and byte-compiled.

Inputs (derivation attributes, seen as environment variables): ``envName``, ``wheelsJson``,
``pythonExecutable``, ``pythonVersion``, ``out``. With SOURCE_DATE_EPOCH set, py_compile writes
checked-hash pycs: valid whatever the store's mtimes, and identical on every build.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common
from _common import log


def main() -> None:
    tmp = _common.prepare()
    out = os.environ["out"]
    name = os.environ["envName"]
    python = os.environ["pythonExecutable"]
    venv_python = _common.create_venv(python, out)
    scheme = _common.venv_scheme(venv_python, out)
    installer = _common.Installer(
        scheme, os.path.join(out, "bin", "python"), compile_bytecode=True, self_reference=out
    )
    for path, filename in _common.resolve_wheels(os.environ["wheelsJson"], os.path.join(tmp, "wheels")):
        log(f"installing {filename}")
        installer.install(path, filename)
    dists = sorted(installer.installed, key=lambda d: (_common.canonical_name(d["name"]), d["version"]))
    _common.write_json(
        os.path.join(out, "nix-support", "nixtox-env.json"),
        {
            "name": name,
            "python": {
                "executable": python,
                "version": os.environ["pythonVersion"],
                "fingerprint": os.environ["pythonFingerprint"],
            },
            "dists": dists,
        },
    )


if __name__ == "__main__":
    _common.run_main(main, "mkEnv")
