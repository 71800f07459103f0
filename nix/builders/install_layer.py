"""Builder of ``installLayer``: one wheel installed and byte-compiled for one interpreter.

Layout of ``$out``: ``site-packages/`` (purelib and platlib), ``bin/`` (scripts, with the placeholder
interpreter ``/nixtox/python`` that ``mkEnv`` replaces), ``data/``, ``headers/<dist>/`` and
``nix-support/nixtox-layer.json`` (name, version, wheel). Every env of that interpreter that needs the
wheel links these files instead of installing and compiling them again.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common

#: the interpreter written into scripts; mkEnv rewrites it to the env's bin/python
PLACEHOLDER_INTERPRETER = "/nixtox/python"


def main() -> None:
    tmp = _common.prepare()
    out = os.environ["out"]
    (path, filename), *rest = _common.resolve_wheels(os.environ["wheelsJson"], os.path.join(tmp, "wheels"))
    if rest:
        raise _common.BuilderError("installLayer takes exactly one wheel")
    site = os.path.join(out, "site-packages")
    scheme = {
        "purelib": site,
        "platlib": site,
        "scripts": os.path.join(out, "bin"),
        "data": os.path.join(out, "data"),
        "headers": os.path.join(out, "headers"),
    }
    installer = _common.Installer(scheme, PLACEHOLDER_INTERPRETER, compile_bytecode=True, self_reference=out)
    installer.install(path, filename)
    _common.write_json(
        os.path.join(out, "nix-support", "nixtox-layer.json"), dict(installer.installed[0], wheel=filename)
    )


if __name__ == "__main__":
    _common.run_main(main, "installLayer")
