"""Builder of ``mkEnv``: a venv at ``$out`` holding the files of every layer (one installed wheel each).

Inputs (derivation attributes, seen as environment variables): ``envName``, ``layersJson`` (the
``installLayer`` outputs), ``pythonExecutable``, ``pythonVersion``, ``systemSitePackages`` ("1": the
venv also sees the interpreter's site-packages), ``out``. The layers were installed and byte-compiled
once per interpreter (checked-hash pycs, valid wherever they are), so the env is an ordinary venv whose
site-packages links to their entries (a symlink forest, directory-level links where it can) plus the
console scripts for its own ``bin/python``: a rebuilt env (a changed package, one more dependency) costs
a few dozen links, not thousands, and the layers are its references.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common
import pytest_bytecode
from install_layer import PLACEHOLDER_INTERPRETER


class Linker:
    """Links layers into the env as a symlink forest, remembering which wheel each link came from.

    An entry (a package directory, a module, a dist-info) that only one layer has is one symlink to it;
    where two layers meet in a directory (a namespace package, the top-level ``__pycache__``), that
    directory is unfolded into a real one holding links to both, as nixpkgs' ``buildEnv`` does. Two
    wheels with the same file are fine when its content is the same, else an error naming both."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    def _unfold(self, target: str) -> None:
        """A link to a layer's directory, turned into a directory of links to its entries."""
        source = os.readlink(target)
        owner = self.owners.get(target, "the venv")
        os.unlink(target)
        os.mkdir(target)
        for name in os.listdir(source):
            link = os.path.join(target, name)
            os.symlink(os.path.join(source, name), link)
            self.owners[link] = owner

    def link_tree(self, source_dir: str, target_dir: str, wheel: str) -> None:
        os.makedirs(target_dir, exist_ok=True)
        for name in sorted(os.listdir(source_dir)):
            source, target = os.path.join(source_dir, name), os.path.join(target_dir, name)
            if not os.path.lexists(target):
                os.symlink(source, target)
                self.owners[target] = wheel
                continue
            both_dirs = os.path.isdir(source) and not os.path.islink(source) and os.path.isdir(target)
            if both_dirs:
                if os.path.islink(target):
                    self._unfold(target)
                self.link_tree(source, target, wheel)
            elif not (os.path.isfile(target) and _same_content(source, target)):
                # e.g. the same namespace __init__.py shipped by two wheels is fine; anything else is not
                owner = self.owners.get(target, "the venv")
                raise _common.BuilderError(f"conflicting file {target}: written by both {owner} and {wheel}")

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


def link_pytest_bytecode(linker: Linker, site: str, out: str, layers: list[str]) -> None:
    """pytest's rewritten bytecode for the env's plugins, beside the layers' own: the dependencies'
    from their ``pytestBytecode``, and for plugins among the project's own layers (which change with
    every edit) written here, so no test run of this env rewrites a plugin."""
    shared = os.environ.get("pytestBytecode")
    if not shared:
        return  # rewritePytestPlugins = false
    linker.link_tree(os.path.join(shared, "site-packages"), site, "pytest's rewritten plugin bytecode")
    project = json.loads(os.environ.get("projectLayersJson") or "[]")
    project_sites = [os.path.join(layer, "site-packages") for layer in project]
    if not any(pytest_bytecode.plugin_dists(s) for s in project_sites):
        return
    own = os.path.join(out, "nix-support", "pytest-bytecode")
    sites = [os.path.join(layer, "site-packages") for layer in layers]
    if pytest_bytecode.write_rewritten(sites, project_sites, own):
        linker.link_tree(own, site, "pytest's rewritten bytecode of the project's plugins")


def main() -> None:
    _common.prepare()
    out = os.environ["out"]
    name = os.environ["envName"]
    python = os.environ["pythonExecutable"]
    scheme = _common.create_venv_here(out)  # this builder is the env's interpreter
    if os.environ.get("systemSitePackages") == "1":
        include_system_site_packages(out)
    env_python = os.path.join(out, "bin", "python")
    linker = Linker()
    dists = []
    layers = json.loads(os.environ["layersJson"])
    for layer in layers:
        with open(os.path.join(layer, "nix-support", "nixtox-layer.json"), encoding="utf-8") as handle:
            info = json.load(handle)
        wheel = info.pop("wheel")
        dists.append(info)
        _common.log(f"linking {wheel}")
        linker.link_tree(os.path.join(layer, "site-packages"), scheme["purelib"], wheel)
        if os.path.isdir(os.path.join(layer, "data")):
            linker.link_tree(os.path.join(layer, "data"), scheme["data"], wheel)
        if os.path.isdir(os.path.join(layer, "headers")):
            linker.link_tree(os.path.join(layer, "headers"), scheme["headers"], wheel)
        bin_dir = os.path.join(layer, "bin")
        for script in sorted(os.listdir(bin_dir)) if os.path.isdir(bin_dir) else ():
            linker.script(
                os.path.join(bin_dir, script), os.path.join(scheme["scripts"], script), wheel, env_python
            )
    link_pytest_bytecode(linker, scheme["purelib"], out, layers)
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
