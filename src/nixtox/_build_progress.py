"""Nix's stderr during ``nix-store --realise``, turned into one line per finished build or download step.

Nix 2.8's plain log says when a step starts (``building '/nix/store/…drv'...``, ``copying path … from
…``) but not when it ends, and interleaves the builders' logs. A step has ended when its output is in
the store in Nix's canonical form (mtime 1, as Nix leaves every registered path), so each step gets
its line, with how long it took, as soon as that is seen: on the next line of stderr or at the end.

A step is named by its derivation; a name that does not say which interpreter it is for (the
project's ``myproj-sdist`` is built once per build interpreter) gets the builder's interpreter added
(``myproj-sdist (python3.12)``), and names that still repeat get their store hash. Counts
(``[3/10]``) are of the steps Nix announced; without an announcement no count is shown.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nixtox import _profile

__all__ = ["BuildProgress", "read_drv", "store_root"]

_PLAN = re.compile(r"^these (\d+) (derivations|paths) will be (built|fetched)")
_PLANNED = re.compile(r"^\s+(/nix/store/\S+)\s*$")
_BUILDING = re.compile(r"^building '(?P<path>/nix/store/[^']+\.drv)'")
#: a copy from a cache; one from a remote builder (``ssh://``, ``ssh-ng://``) is the end of a build there
_FETCHING = re.compile(r"^copying path '(?P<path>/nix/store/[^']+)' from '(?!ssh(?:-ng)?://)[^']+'")
_FAILED = re.compile(r"builder for '(?P<path>/nix/store/[^']+\.drv)' failed")
_NIX_SAYS = re.compile(r"^(these \d+ |building '|copying path |error: |warning: |\s+/nix/store/)")
_STORE_NAME = re.compile(r"^/nix/store/(?P<hash>[a-z0-9]{32})-(?P<name>.+?)(?:\.drv)?$")
#: Derive([("out","/nix/store/…","",""),…],[inputs],[srcs],"system","builder",…
_DRV_OUT = re.compile(r'^Derive\(\[\("out","(?P<out>/nix/store/[^"]+)"')
_DRV_BUILDER = re.compile(r'\],"[^"]*","(?P<builder>[^"]*)",\[')
_PYTHON = re.compile(r"^(?P<impl>python|pypy)(?P<version>\d(?:\.\d+)?)t?$")
#: the mtime Nix gives every path it registers (canonicalisePathMetaData)
_CANONICAL_MTIME = 1
#: tox's verbosity levels, as the display uses them: 2 is the default, 3 is -v, 1 is -q
_DEFAULT, _VERBOSE = 2, 3


@dataclass
class _Step:
    kind: str  # "built" | "fetched"
    shown: str
    output: str | None
    started: float
    done: bool = False


@dataclass
class _Plan:
    announced: dict[str, set[str]] = field(default_factory=lambda: {"built": set(), "fetched": set()})
    seen: bool = False
    said: bool = False
    listing: str | None = None  # the kind whose paths Nix is listing right now


class BuildProgress:
    """Feed it Nix's stderr line by line; it says ``nixtox: [3/10] built demo-sdist (python3.12) in 1.30 s``.

    ``verbosity`` follows tox's levels: 2 (default) one line per step, 3 (``-v``) also streams the build
    log (prefixed by its step when one step runs, else by ``nix``: Nix's plain log does not say whose a
    line is while several build), 1 (``-q``) only failures. ``store_dir`` is the root of a chroot store
    (``--store DIR``) in which the outputs really are."""

    def __init__(
        self,
        say: Callable[[str], None],
        *,
        verbosity: int = _DEFAULT,
        store_dir: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say = say
        self.verbosity = verbosity
        self.store_dir = store_dir
        self.clock = clock
        self.plan = _Plan()
        self.steps: dict[str, _Step] = {}
        self.finished = {"built": 0, "fetched": 0}
        self._shown: dict[str, str] = {}  # shown name -> path that has it

    def __call__(self, line: str) -> None:
        text = line.rstrip("\n")
        if self._planned(text):
            return
        self._say_plan()
        self._poll()  # what finished before Nix said this
        if step := _BUILDING.match(text):
            self._start(step["path"], "built")
        elif step := _FETCHING.match(text):
            self._start(step["path"], "fetched")
        elif failed := _FAILED.search(text):
            self._end(failed["path"], ok=False)
        elif self.verbosity >= _VERBOSE and text and not _NIX_SAYS.match(text):
            running = [s for s in self.steps.values() if not s.done]
            source = running[0].shown if len(running) == 1 else "nix"
            self.say(f"{source}> {text}\n")
        self._poll()

    def finish(self) -> None:
        """Nix exited: every step whose output is there is done now."""
        self._say_plan()
        self._poll(final=True)

    # -- the plan ----------------------------------------------------------------------------------
    def _planned(self, text: str) -> bool:
        if plan := _PLAN.match(text):
            self.plan.seen, self.plan.listing = True, plan[3]
            return True
        if self.plan.listing is not None and (path := _PLANNED.match(text)):
            self.plan.announced[self.plan.listing].add(path[1])
            return True
        self.plan.listing = None
        return False

    def _say_plan(self) -> None:
        if self.plan.seen and not self.plan.said and self.verbosity >= _DEFAULT:
            built, fetched = (len(self.plan.announced[k]) for k in ("built", "fetched"))
            self.say(f"nixtox: Nix: {built} to build, {fetched} to fetch\n")
        self.plan.said = self.plan.said or self.plan.seen

    # -- steps -------------------------------------------------------------------------------------
    def _start(self, path: str, kind: str) -> None:
        if path in self.steps:
            return
        output, builder = self._read_drv(path) if kind == "built" else (path, "")
        self.steps[path] = _Step(kind, self._name(path, builder), output, self.clock())

    def _name(self, path: str, builder: str) -> str:
        match = _STORE_NAME.match(path)
        name, digest = (match["name"], match["hash"]) if match else (Path(path).name, "")
        python = _PYTHON.match(Path(builder).name)
        if python is not None:
            version = python["version"]
            says = (f"-py{version}", f"-py{version.replace('.', '')}")
            if not name.endswith(says):
                name = f"{name} ({python['impl']}{version})"
        if self._shown.setdefault(name, path) != path:
            name = f"{name} [{digest[:7]}]"
        return name

    def _read_drv(self, drv: str) -> tuple[str | None, str]:
        return read_drv(drv, self.store_dir)

    def _output_there(self, step: _Step) -> bool:
        if step.output is None:
            return False
        try:
            return int(os.lstat(self.store_dir + step.output).st_mtime) == _CANONICAL_MTIME
        except OSError:
            return False

    def _poll(self, *, final: bool = False) -> None:
        for path, step in list(self.steps.items()):
            if not step.done and self._output_there(step):
                self._end(path, ok=True)
            elif not step.done and final and step.output is None:
                self._end(path, ok=True)  # nothing to look at; Nix is done with it

    def _end(self, path: str, *, ok: bool) -> None:
        step = self.steps.get(path)
        if step is None:
            step = self.steps[path] = _Step("built", self._name(path, ""), None, self.clock())
        if step.done:
            return
        step.done = True
        self.finished[step.kind] += 1
        seconds = self.clock() - step.started
        _profile.note(f"{step.kind}:{step.shown}", seconds)
        if ok and self.verbosity < _DEFAULT:
            return
        verb = step.kind if ok else "failed to build"
        self.say(f"nixtox: {self._count(step.kind)}{verb} {step.shown} in {seconds:.2f} s\n")

    def _count(self, kind: str) -> str:
        if not self.plan.seen:
            return ""
        total = len(self.plan.announced[kind] | {p for p, s in self.steps.items() if s.kind == kind})
        return f"[{self.finished[kind]}/{total}] "


def read_drv(drv: str, store_dir: str = "") -> tuple[str | None, str]:
    """A derivation's ``out`` path and builder, read from the .drv file (a small ATerm text file) in the
    store rooted at ``store_dir`` ("" = the default one): no Nix call."""
    try:
        text = Path(store_dir + drv).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, ""
    out, builder = _DRV_OUT.match(text), _DRV_BUILDER.search(text)
    return (out["out"] if out else None), (builder["builder"] if builder else "")


def store_root(store: str) -> str:
    """Where a ``--store`` value keeps its files: ``DIR`` or ``local?root=DIR`` -> DIR; "" for the default
    store or one that is not a local directory (a daemon, ssh): its outputs are then not looked at."""
    if store.startswith("/"):
        return store.rstrip("/")
    if match := re.search(r"[?&]root=([^&]+)", store):
        return match[1].rstrip("/")
    return ""
