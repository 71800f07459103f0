"""The project's version when it comes from version control (setuptools-scm, hatch-vcs, flit_scm, ...).

The project source nixtox copies into the store has no ``.git``, so a backend that asks git for the
version finds nothing there. The version is a fact about the checkout: it is worked out once per run on
the host, by the very tool the backend uses (its wheel from the env's locked build requirements, run by
the build interpreter in the project root, so a shallow clone, a dirty tree, an unpacked sdist's
PKG-INFO and every option of the tool count as in ``pip wheel .``), and handed to the isolated build
through the backend's own pretend setting (``VcsVersion.env``) or a PKG-INFO in the build's copy of the
tree (``VcsVersion.pkg_info``). It is a value of the package derivation, so a new commit rebuilds the
package and nothing else.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nixtox._files import write_atomically
from nixtox._process import run_process
from nixtox.errors import NixtoxError
from nixtox.interpreters._probe import cache_dir
from nixtox.lock._sdist import download
from nixtox.model import DistKind, LockedDist, LockedEnv
from nixtox.scm._detect import VersionTool, detect_version_tool

__all__ = [
    "VcsVersion",
    "VersionTool",
    "detect_version_tool",
    "pretend_env",
    "unversioned_tree",
    "vcs_version",
]

_RUNNER = Path(__file__).with_name("_runner.py")


@dataclass(frozen=True)
class VcsVersion:
    """The project's version from version control, and how the package build is told it."""

    #: the tool that worked it out (``setuptools-scm``, ``hatch-vcs`` ...)
    tool: str
    version: str = ""
    #: the backend's pretend-version variables, set for the package build only
    env: tuple[tuple[str, str], ...] = ()
    #: write ``PKG-INFO`` (with this version) into the build's copy of the tree, for tools that read one
    pkg_info: bool = False
    #: why no version could be worked out ("" when one was); every env that builds the package ends with it
    error: str = ""


def pretend_env(tool: VersionTool, version: str) -> tuple[tuple[str, str], ...]:
    """The variables the tool's backend reads instead of asking version control.

    setuptools-scm reads ``SETUPTOOLS_SCM_PRETEND_VERSION_FOR_<NAME>`` (the canonical name, upper case,
    ``-`` as ``_``) before the generic one; flit_scm and hatch-vcs call it without a name, so only the
    generic one reaches them. Both are set: they hold the same value and only this package's build sees them.
    """
    if tool.handoff == "setuptools-scm":
        named: tuple[tuple[str, str], ...] = ()
        if tool.project:
            suffix = "".join(c if c.isalnum() else "_" for c in _canonical(tool.project)).upper()
            named = ((f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{suffix}", version),)
        return (("SETUPTOOLS_SCM_PRETEND_VERSION", version), *named)
    if tool.handoff == "pdm":
        return (("PDM_BUILD_SCM_VERSION", version),)
    if tool.handoff == "poetry":
        return (("POETRY_DYNAMIC_VERSIONING_BYPASS", version),)
    return ()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def vcs_version(root: Path, envs: Sequence[LockedEnv]) -> VcsVersion | None:
    """The version of the project at ``root`` when a VCS tool sets it (None: it does not, or no env
    builds the package, or the tool is not among the locked build requirements).

    Worked out once, with the build requirements and interpreter of the first env that builds the
    package: the version is a fact about the checkout, the same for every env.
    """
    tool = detect_version_tool(root)
    builder = next((env for env in envs if env.spec.installs_package), None)
    if tool is None or builder is None:
        return None
    wheels = [d for d in builder.build_dists if d.kind == DistKind.WHEEL]
    if not any(_canonical(d.name) == tool.dist for d in wheels):
        return None  # not declared where nixtox pins it (setup_requires): the build goes as before
    try:
        paths = [str(_unpacked(d, env_name=builder.spec.label)) for d in wheels]
    except NixtoxError as exc:
        return VcsVersion(tool.name, error=f"cannot work out the version of the project: {exc.message}")
    interpreter = builder.build_interpreter or builder.interpreter
    python = interpreter.executable if interpreter.executable.exists() else Path(sys.executable)
    answer = _run_tool(python, tool, root, paths)
    if "version" in answer:
        version = answer["version"]
        return VcsVersion(tool.name, version, pretend_env(tool, version), pkg_info=tool.handoff == "pkg-info")
    return VcsVersion(tool.name, error=_explain(tool, root, answer.get("error", "")))


def unversioned_tree(root: Path, environ: Mapping[str, str]) -> str | None:
    """Why the project at ``root`` has no version for its build to find (None: it has one, or it does
    not take it from version control): not a git checkout (or no git) and no PKG-INFO, and none of the
    tool's pretend-version variables set. Locking asks before the resolver builds the project's
    metadata, so the user reads this instead of the backend's traceback."""
    tool = detect_version_tool(root)
    if tool is None or (root / "PKG-INFO").is_file():
        return None
    if any(name in environ for name, _ in pretend_env(tool, "")):
        return None
    if shutil.which("git") is not None and _in_git_checkout(root):
        return None
    return _explain(tool, root, "")


def _run_tool(python: Path, tool: VersionTool, root: Path, paths: list[str]) -> dict[str, str]:
    request = {
        "paths": paths,
        "tool": tool.runner,
        "root": str(root),
        "config": dict(tool.config),
        "project": tool.project,
    }
    argv = [str(python), "-I", "-S", str(_RUNNER), json.dumps(request)]
    key = _checkout_key(root, [str(python), request])
    cached = _answers() / f"{key}.json" if key is not None else None
    if cached is not None:
        with contextlib.suppress(OSError, ValueError):
            return {str(k): str(v) for k, v in json.loads(cached.read_text(encoding="utf-8")).items()}
    with _without_own_files(root) as environ:
        outcome = run_process(argv, cwd=root, env=environ, check_program=False)
    for line in reversed(outcome.stdout.splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict):
            answer = {str(k): str(v) for k, v in answer.items()}
            if cached is not None and "version" in answer:
                with contextlib.suppress(OSError):  # a cache: a failed write costs the next run a call
                    write_atomically(cached, json.dumps(answer))
            return answer
    last = (outcome.stderr.strip().splitlines() or [f"exit {outcome.exit_code}"])[-1]
    return {"error": last}


#: variables the version tools (and git under them) read
_TOOL_VARIABLES = re.compile(
    r"^(SETUPTOOLS_SCM|HATCH|PDM|POETRY|VERSIONINGIT|DUNAMAI|GIT)_|^SOURCE_DATE_EPOCH$"
)


def _answers() -> Path:
    return cache_dir() / "vcs-versions"


def _checkout_key(root: Path, request: object) -> str | None:
    """A digest of everything a version tool reads from a git checkout (None: not one): the commit and
    branch, every tag, which files are changed or untracked (not their content: no tool's version
    depends on it), today's date (dirty versions carry it), the tools' variables, and ``request`` (the
    tool, its configuration and wheels, the interpreter). A source edit keeps it, so the edit loop asks
    the tool once per state of the checkout (0.13 s for hatch-vcs), not on every run."""
    head = _git(root, "rev-parse", "HEAD", "--symbolic-full-name", "HEAD")
    if head is None:
        return None
    tags = _git(root, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)", "refs/tags")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal")
    variables = sorted((k, v) for k, v in os.environ.items() if _TOOL_VARIABLES.match(k))
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    facts = [_ANSWER_SCHEMA, request, head, tags, status, variables, today]
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


_ANSWER_SCHEMA = 1


def _explain(tool: VersionTool, root: Path, said: str) -> str:
    project = tool.project or root.name
    if shutil.which("git") is None and not (root / "PKG-INFO").is_file():
        reason = "git is not on PATH, and the tree has no PKG-INFO"
    elif not _in_git_checkout(root) and not (root / "PKG-INFO").is_file():
        reason = f"{root} is not a git checkout and has no PKG-INFO"
    else:
        reason = f"{tool.name} failed: {said or 'no answer'}"
    return f"cannot work out the version of {project} ({tool.name} reads it from version control): " + (
        f"{reason}; {tool.remedy}"
    )


@contextlib.contextmanager
def _without_own_files(root: Path) -> Iterator[dict[str, str]]:
    """The environment for the tool, in which git does not see nixtox's own untracked files.

    ``.nixtox/`` and a new ``nixtox.lock`` are there only because nixtox runs: a tool that counts
    untracked files as dirty (setuptools-git-versioning) would otherwise give another version than
    ``pip wheel .`` in the same checkout before nixtox ran. They are added to git's excludes for the
    tool's git calls only, after the user's own global excludes file.
    """
    environ = dict(os.environ)
    prefix = _git(root, "rev-parse", "--show-prefix")
    if prefix is None:
        yield environ
        return
    own = f"/{prefix}.nixtox/\n/{prefix}nixtox.lock\n"
    global_file = _git(root, "config", "--path", "--get", "core.excludesFile") or str(
        Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "git" / "ignore"
    )
    with contextlib.suppress(OSError):
        own = Path(global_file).read_text(encoding="utf-8", errors="replace") + "\n" + own
    with tempfile.NamedTemporaryFile("w", prefix="nixtox-excludes-", suffix=".txt") as excludes:
        excludes.write(own)
        excludes.flush()
        count = int(environ.get("GIT_CONFIG_COUNT", "0") or 0)
        environ.update(
            {
                "GIT_CONFIG_COUNT": str(count + 1),
                f"GIT_CONFIG_KEY_{count}": "core.excludesFile",
                f"GIT_CONFIG_VALUE_{count}": excludes.name,
            }
        )
        yield environ


def _git(root: Path, *args: str) -> str | None:
    """git's answer (stripped) in ``root``, or None (no git, not a checkout, nothing set)."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def _in_git_checkout(root: Path) -> bool:
    return _git(root, "rev-parse", "--is-inside-work-tree") == "true"


def _unpacked(dist: LockedDist, *, env_name: str) -> Path:
    """The wheel unpacked once into the user cache (by its sha256), to run from like a site-packages."""
    target = cache_dir() / "unpacked" / dist.sha256
    if target.is_dir():
        return target
    wheel = download(dist, env_name=env_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(staging)
        os.replace(staging, target)
    except OSError:
        if not target.is_dir():  # another run unpacked it first: theirs is as good
            raise
    except zipfile.BadZipFile as exc:
        raise NixtoxError(f"{dist.filename} is not a wheel: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
