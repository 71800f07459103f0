"""Builder of ``buildDist``: one wheel from a project tree, an sdist file, or (editable) a live tree.

The PEP 517 hooks run with pyproject-hooks in a fresh venv that holds exactly the derivation's build
requirements, so a build needs what it declares and nothing the host happens to have.

Inputs (derivation attributes, seen as environment variables): ``pname``, ``format`` (wheel, sdist,
editable), ``src`` and ``srcFilename`` (a tree, or an sdist file) or ``projectRoot`` (editable),
``buildRequiresJson``, ``configSettingsJson``, ``vcsVersionJson`` (optional: the version from version
control and the backend's pretend variables), ``pythonExecutable``, ``out``.
Output: ``$out/<name>.whl`` (exactly one), the sdist it came from when there was one, and
``$out/nix-support/nixtox-dist.json``. An editable wheel records the files ``build_editable`` wrote into
the live tree (see ``_tree_files``).
"""

# Derivation attributes reach a builder as camelCase environment variables (SIM112); the pinned tools
# are imported late, once prepare() has put their wheels on sys.path (PLC0415).
# ruff: noqa: SIM112, PLC0415

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common
import _tree_files
from _common import BuilderError, log

LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
#: what this builder makes: a wheel from the tree, a wheel from an sdist of the tree, a PEP 660 wheel
FORMATS = ("wheel", "sdist", "editable")


class Build:
    def __init__(self) -> None:
        self.tmp = _common.prepare()
        self.pname = os.environ["pname"]
        self.format = os.environ["format"]
        self.out = os.environ["out"]
        self.python = os.environ["pythonExecutable"]
        self.config_settings = json.loads(os.environ.get("configSettingsJson") or "{}") or None
        self.venv = os.path.join(self.tmp, "build-env")
        self.venv_python = ""
        self.backend = LEGACY_BACKEND
        self.vcs = json.loads(os.environ.get("vcsVersionJson") or "null")

    # -- the build environment ------------------------------------------------------------------

    def create_build_env(self) -> None:
        """The build environment is a derivation of its own (an ``mkEnv`` of the pinned build
        requirements, shared by every build with the same interpreter and requirements): use it."""
        self.venv = os.environ["buildEnv"]
        self.venv_python = os.path.join(self.venv, "bin", "python")
        with open(os.path.join(self.venv, "nix-support", "nixtox-env.json"), encoding="utf-8") as handle:
            dists = json.load(handle)["dists"]
        self.installed = {_common.canonical_name(d["name"]): d["version"] for d in dists}
        shown = ", ".join(f"{d['name']} {d['version']}" for d in dists) or "nothing"
        log(f"build environment of {self.pname}: {shown}")

    def missing(self, requirements: list[str]) -> list[str]:
        """The requirements the build environment does not satisfy."""
        from packaging.requirements import InvalidRequirement, Requirement

        missing = []
        for text in requirements:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                raise BuilderError(
                    f"the build backend of {self.pname} asked for an invalid requirement {text!r}"
                ) from None
            if req.marker is not None and not req.marker.evaluate():
                continue
            version = self.installed.get(_common.canonical_name(req.name))
            if version is None or not req.specifier.contains(version, prereleases=True):
                missing.append(text + (f" (have {version})" if version else ""))
        return missing

    # -- PEP 517 ----------------------------------------------------------------------------------

    def hooks(self, srcdir: str):  # type: ignore[no-untyped-def]
        from pyproject_hooks import BuildBackendHookCaller

        self.backend, backend_path, declared = read_build_system(srcdir)
        absent = self.missing(declared)
        if absent:
            log(
                f"warning: build-system.requires of {self.pname} lists {', '.join(absent)}, "
                "not in its build environment"
            )
        self.declared_absent = absent
        return BuildBackendHookCaller(
            srcdir,
            self.backend,
            backend_path=backend_path,
            runner=self.runner,
            python_executable=self.venv_python,
        )

    def runner(
        self, cmd: list[str], cwd: str | None = None, extra_environ: dict[str, str] | None = None
    ) -> None:
        env = dict(os.environ)
        env.update(extra_environ or {})
        env["PATH"] = os.path.join(self.venv, "bin") + os.pathsep + env.get("PATH", "")
        env["VIRTUAL_ENV"] = self.venv
        # the build environment is a store path: its layers' bytecode is precompiled, nothing to write
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        subprocess.check_call(cmd, cwd=cwd, env=env)

    def _missing_dynamic(self, hooks, kind: str) -> None:  # type: ignore[no-untyped-def]
        """After a failed build: name what ``get_requires_for_build_<kind>`` asks for and the build
        environment lacks (asked only then: every hook call starts the backend afresh)."""
        try:
            requires = getattr(hooks, f"get_requires_for_build_{kind}")(self.config_settings)
        except Exception:  # the build's own error is the one to show
            return
        absent = self.missing(requires)
        if absent:
            raise BuilderError(
                f"the build backend {self.backend!r} of {self.pname} needs {', '.join(absent)} to build "
                f"its {kind}, missing from its build environment: "
                "add them to the packagedef's build_requires"
            )

    def call(self, srcdir: str, kind: str, outdir: str) -> str:
        """Run build_<kind> in ``srcdir``; the built file's path. When it fails, the backend's dynamic
        build requirements (``get_requires_for_build_<kind>``) say whether one was missing."""
        from pyproject_hooks import BackendUnavailable, HookMissing

        hooks = self.hooks(srcdir)
        what = f"{self.pname} ({self.format})"
        log(f"{kind} of {what} with {self.backend!r}")
        try:
            os.makedirs(outdir, exist_ok=True)
            try:
                built = getattr(hooks, f"build_{kind}")(outdir, self.config_settings)
            except subprocess.CalledProcessError:
                self._missing_dynamic(hooks, kind)
                raise
        except BackendUnavailable as exc:
            sys.stderr.write(getattr(exc, "traceback", "") or "")
            hint = (
                f" (build-system.requires not installed: {', '.join(self.declared_absent)})"
                if self.declared_absent
                else ""
            )
            raise BuilderError(
                f"build backend {self.backend!r} cannot be imported in the build environment of "
                f"{what}{hint}: add its package (and its dependencies for this interpreter) to the "
                "packagedef's build_requires"
            ) from None
        except HookMissing as exc:
            raise BuilderError(
                f"build backend {self.backend!r} of {what} has no {exc.hook_name} hook"
            ) from None
        except subprocess.CalledProcessError:
            raise BuilderError(f"build backend {self.backend!r} failed for {what}") from None
        return os.path.join(outdir, built)

    # -- the version from version control ---------------------------------------------------------

    def tell_version(self) -> None:
        """The backend's pretend-version variables, for every hook it runs (the build has no ``.git``)."""
        if self.vcs is None:
            return
        log(f"version of {self.pname} from version control: {self.vcs['version']} (worked out by nixtox)")
        os.environ.update(self.vcs.get("env", {}))

    def write_pkg_info(self, srcdir: str) -> None:
        """A PKG-INFO holding the version, for tools that read one where there is no VCS; an unpacked
        sdist's own PKG-INFO is kept. The live tree of an editable build is never written to."""
        path = os.path.join(srcdir, "PKG-INFO")
        if self.vcs is None or not self.vcs.get("pkgInfo") or os.path.lexists(path):
            return
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"Metadata-Version: 2.1\nName: {self.pname}\nVersion: {self.vcs['version']}\n")

    def check_version(self, built: str) -> None:
        if self.vcs is None:
            return
        from packaging.version import InvalidVersion, Version

        try:
            same = Version(built) == Version(self.vcs["version"])
        except InvalidVersion:
            same = built == self.vcs["version"]
        if not same:
            log(
                f"warning: {self.pname} was built as version {built}, not {self.vcs['version']} as its "
                "version control says: its backend did not take the version nixtox handed it"
            )

    # -- the formats ------------------------------------------------------------------------------

    def run(self) -> None:
        if self.format not in FORMATS:
            raise BuilderError(
                f"unknown build format {self.format!r} of {self.pname} (use {', '.join(FORMATS)})"
            )
        self.create_build_env()
        self.tell_version()
        sdist: str | None = None
        if self.format == "editable":
            srcdir = os.environ["projectRoot"]
            if not os.path.isdir(srcdir):
                raise BuilderError(
                    f"project root {srcdir} of {self.pname} is not a directory visible to the build "
                    "(editable builds need an unsandboxed Nix build)"
                )
            before = _tree_files.snapshot(srcdir)
            wheel = self.call(srcdir, "editable", self.out)
            _tree_files.record(wheel, srcdir, before)
        else:
            src = os.environ["src"]
            if os.path.isdir(src):
                srcdir = os.path.join(self.tmp, "src")
                _common.copy_writable_tree(src, srcdir)
                self.write_pkg_info(srcdir)
                if self.format == "sdist":
                    sdist = self.call(srcdir, "sdist", self.out)
                    srcdir = unpack_sdist(sdist, os.path.join(self.tmp, "from-sdist"))
            else:
                sdist = src
                filename = _common.dist_filename(src, os.environ.get("srcFilename"))
                srcdir = unpack_sdist(src, os.path.join(self.tmp, "from-sdist"), filename)
            wheel = self.call(srcdir, "wheel", self.out)
        wheels = [f for f in os.listdir(self.out) if f.endswith(".whl")]
        if wheels != [os.path.basename(wheel)]:
            raise BuilderError(f"the build of {self.pname} left {wheels} in its output, expected one wheel")
        name, version = wheel_name_version(wheel)
        self.check_version(version)
        _common.write_json(
            os.path.join(self.out, "nix-support", "nixtox-dist.json"),
            {
                "pname": self.pname,
                "name": name,
                "version": version,
                "format": self.format,
                "backend": self.backend,
                "wheel": os.path.basename(wheel),
                "sdist": os.path.basename(sdist) if sdist and sdist.startswith(self.out) else None,
            },
        )


def read_build_system(srcdir: str) -> tuple[str, list[str] | None, list[str]]:
    """``(backend, backend_path, requires)`` from pyproject.toml, with PEP 517's fallback."""
    path = os.path.join(srcdir, "pyproject.toml")
    if not os.path.exists(path):
        return LEGACY_BACKEND, None, ["setuptools>=40.8.0"]
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise BuilderError(f"{path} is not valid TOML: {exc}") from None
    table = data.get("build-system", {})
    backend = table.get("build-backend") or LEGACY_BACKEND
    default_requires = ["setuptools>=40.8.0"] if backend == LEGACY_BACKEND else []
    return backend, table.get("backend-path"), list(table.get("requires", default_requires))


def unpack_sdist(sdist: str, dest: str, filename: str | None = None) -> str:
    """Unpack an sdist into ``dest``; return its single top-level directory."""
    filename = filename or os.path.basename(sdist)
    os.makedirs(dest)
    if filename.endswith(".zip"):
        with zipfile.ZipFile(sdist) as archive:
            archive.extractall(dest)
    elif ".tar" in filename:
        with tarfile.open(sdist) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(dest, filter="data")
            else:
                archive.extractall(dest)
    else:
        raise BuilderError(f"{filename} is not an sdist (.tar.gz or .zip)")
    entries = os.listdir(dest)
    if len(entries) != 1 or not os.path.isdir(os.path.join(dest, entries[0])):
        raise BuilderError(f"sdist {filename} should hold one top-level directory, holds {sorted(entries)}")
    _common.make_writable(dest)
    return os.path.join(dest, entries[0])


def wheel_name_version(wheel: str) -> tuple[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            parts = member.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                from email.parser import HeaderParser

                headers = HeaderParser().parsestr(archive.read(member).decode("utf-8"))
                return str(headers["Name"]), str(headers["Version"])
    raise BuilderError(f"{os.path.basename(wheel)} has no .dist-info/METADATA")


def main() -> None:
    Build().run()


if __name__ == "__main__":
    _common.run_main(main, "buildDist")
