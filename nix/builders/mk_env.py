"""Builder of ``mkEnv``: a venv at ``$out`` holding the files of every layer (one installed wheel each).

Inputs (derivation attributes, seen as environment variables): ``envName``, ``layersJson`` (the
``installLayer`` outputs), ``pythonExecutable``, ``pythonVersion``, ``systemSitePackages`` ("1": the
venv also sees the interpreter's site-packages), ``out``. The layers were installed
and byte-compiled once per interpreter (checked-hash pycs, valid wherever they are), so the env only
hard-links their files into an ordinary venv layout and writes the console scripts for its own
``bin/python``: a rebuilt env (a changed package, one more dependency) costs links, not compiles.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common
from install_layer import PLACEHOLDER_INTERPRETER


class Linker:
    """Puts files into the env, remembering which wheel each came from."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    def place(self, source: str, target: str, wheel: str) -> None:
        if os.path.lexists(target):
            if _same_content(source, target):
                return  # e.g. the same namespace __init__.py shipped by two wheels
            owner = self.owners.get(target, "the venv")
            raise _common.BuilderError(f"conflicting file {target}: written by both {owner} and {wheel}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system (a check build, a chroot store): copy
            shutil.copy2(source, target)
        self.owners[target] = wheel

    def place_tree(self, source_dir: str, target_dir: str, wheel: str) -> None:
        for dirpath, _dirnames, filenames in os.walk(source_dir):
            rel = os.path.relpath(dirpath, source_dir)
            for name in filenames:
                self.place(
                    os.path.join(dirpath, name), os.path.normpath(os.path.join(target_dir, rel, name)), wheel
                )

    def script(self, source: str, target: str, wheel: str, python: str) -> None:
        """A layer's script with the env's interpreter in place of the placeholder."""
        with open(source, "rb") as handle:
            content = handle.read()
        content = content.replace(PLACEHOLDER_INTERPRETER.encode(), python.encode())
        if os.path.lexists(target):
            owner = self.owners.get(target, "the venv")
            raise _common.BuilderError(f"conflicting file {target}: written by both {owner} and {wheel}")
        with open(target, "wb") as handle:
            handle.write(content)
        os.chmod(target, 0o755)
        self.owners[target] = wheel


def _same_content(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def include_system_site_packages(prefix: str) -> None:
    """What ``venv --system-site-packages`` writes: the interpreter's own site-packages join sys.path
    after the env's (site.py reads the flag from pyvenv.cfg)."""
    path = os.path.join(prefix, "pyvenv.cfg")
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    key = "include-system-site-packages"
    kept = [line for line in lines if line.split("=", 1)[0].strip().lower() != key]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join([*kept, f"{key} = true"]) + "\n")


def main() -> None:
    _common.prepare()
    out = os.environ["out"]
    name = os.environ["envName"]
    python = os.environ["pythonExecutable"]
    venv_python = _common.create_venv(python, out)
    if os.environ.get("systemSitePackages") == "1":
        include_system_site_packages(out)
    scheme = _common.venv_scheme(venv_python, out)
    env_python = os.path.join(out, "bin", "python")
    linker = Linker()
    dists = []
    for layer in json.loads(os.environ["layersJson"]):
        with open(os.path.join(layer, "nix-support", "nixtox-layer.json"), encoding="utf-8") as handle:
            info = json.load(handle)
        wheel = info.pop("wheel")
        dists.append(info)
        _common.log(f"linking {wheel}")
        linker.place_tree(os.path.join(layer, "site-packages"), scheme["purelib"], wheel)
        if os.path.isdir(os.path.join(layer, "data")):
            linker.place_tree(os.path.join(layer, "data"), scheme["data"], wheel)
        if os.path.isdir(os.path.join(layer, "headers")):
            pyver = ".".join(os.environ["pythonVersion"].split(".")[:2])
            headers = os.path.join(out, "include", "site", f"python{pyver}")
            linker.place_tree(os.path.join(layer, "headers"), headers, wheel)
        bin_dir = os.path.join(layer, "bin")
        for script in sorted(os.listdir(bin_dir)) if os.path.isdir(bin_dir) else ():
            linker.script(
                os.path.join(bin_dir, script), os.path.join(scheme["scripts"], script), wheel, env_python
            )
    dists.sort(key=lambda d: (_common.canonical_name(d["name"]), d["version"]))
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
