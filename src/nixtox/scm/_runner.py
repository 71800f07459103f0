"""Work out the project's version with the tool its backend uses, run by the build interpreter on the host.

Not imported by nixtox: ``nixtox.scm`` runs this file as ``python -I -S _runner.py REQUEST`` with the
interpreter that builds the package, in the project root. REQUEST is JSON: ``paths`` (the unpacked wheels
of the env's locked build requirements, added like a venv's site-packages), ``tool``, ``root``,
``config`` (the tool's table, where its backend hands one over) and ``project`` (the distribution name).
The answer is one JSON line on stdout, ``{"version": ...}`` or ``{"error": ...}``; whatever the tool
prints goes to stderr. Stdlib only, Python 3.8 syntax: it runs on every interpreter nixtox supports.
"""

# The tools exist only on the paths the request gives, so their imports are late and untyped.
# ruff: noqa: PLC0415
# mypy: ignore-errors

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import site
import sys


def setuptools_scm(request):
    """``python -m setuptools_scm``: reads ``[tool.setuptools_scm]`` as the build does, writes no file."""
    out = io.StringIO()
    sys.argv = ["setuptools_scm"]
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_module("setuptools_scm", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
    lines = out.getvalue().split()
    if not lines:
        raise LookupError("setuptools-scm printed no version")
    return lines[-1]


def hatch_vcs(request):
    """hatch-vcs' own version source, with the ``[tool.hatch.version]`` table hatchling gives it."""
    from hatch_vcs.version_source import VCSVersionSource

    return VCSVersionSource(request["root"], dict(request["config"])).get_version_data()["version"]


def setuptools_git_versioning(request):
    try:
        from setuptools_git_versioning.setup import get_version
    except ImportError:  # before 3.0
        from setuptools_git_versioning import get_version
    return get_version(root=request["root"])


def versioningit(request):
    from versioningit import get_version

    return get_version(request["root"], write=False, fallback=True)


class _PdmContext:
    """What pdm-backend's scm version source reads of its build context."""

    def __init__(self, root):
        from pathlib import Path

        self.root = Path(root)


def pdm_backend(request):
    """pdm-backend's ``resolve_version_from_scm`` with its ``[tool.pdm.version]`` options, minus the
    ``write_to`` file (the build writes that)."""
    from pdm.backend.hooks.version import DynamicVersionBuildHook

    skip = ("source", "write_to", "write_template")
    options = {k: v for k, v in request["config"].items() if k not in skip}
    hook = DynamicVersionBuildHook()
    return hook.resolve_version_from_scm(_PdmContext(request["root"]), **options)


def poetry_dynamic_versioning(request):
    from pathlib import Path

    import poetry_dynamic_versioning as pdv

    config = pdv._get_config_from_path(Path(request["root"]))
    try:
        return pdv._get_version(config, request.get("project"))[0]
    except TypeError:  # before 1.0: no name argument
        return pdv._get_version(config)[0]


TOOLS = {
    "setuptools-scm": setuptools_scm,
    "hatch-vcs": hatch_vcs,
    "setuptools-git-versioning": setuptools_git_versioning,
    "versioningit": versioningit,
    "pdm-backend": pdm_backend,
    "poetry-dynamic-versioning": poetry_dynamic_versioning,
}


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return type(exc).__name__ + (": " + text[0] if text else "")


def main():
    request = json.loads(sys.argv[1])
    for path in request["paths"]:
        site.addsitedir(path)  # a venv's site-packages: its .pth files count too
    os.chdir(request["root"])
    answer_to = sys.stdout
    sys.stdout = sys.stderr
    try:
        answer = {"version": str(TOOLS[request["tool"]](request))}
    except BaseException as exc:  # every failure of the tool is the answer
        import traceback

        traceback.print_exc()
        answer = {"error": _first_line(exc)}
    answer_to.write(json.dumps(answer) + "\n")
    answer_to.flush()


if __name__ == "__main__":
    main()
