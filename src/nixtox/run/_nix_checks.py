"""The one Nix call that brings the checks of several envs to their results, watching it as it goes.

``CheckBuild.run`` instantiates each env and its check (``kinds.<key>.check``; from ``rerun.nix`` for
``--rerun``), takes the results already in the store as they are, and realises the others in one
``nix-store --realise``. As a ``BuildWatcher`` it hears Nix's internal JSON log: where each check and
env builds, the check's log lines (handed to the env's ``LiveLines``), and when a result has arrived:
after a local build, or once it is copied here from the builder or the cache that made it. Each env
ends (``finished``) the moment its result is readable, not when the whole call returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nixtox._nix_log import machine_host
from nixtox.errors import BuildError, NixtoxError
from nixtox.model import RenderedEnv
from nixtox.nix import NixBackend, RealiseOutcome
from nixtox.realise import failure_reason
from nixtox.run._check_record import CheckRecord, LiveLines, read_record
from nixtox.run._streams import OneAtATime
from nixtox.state import store_file, store_has

__all__ = ["CheckBuild", "PendingCheck"]

#: ``Derive([("out","/nix/store/…","",""),…``: a derivation file names its output first
_DRV_OUT = re.compile(r'^Derive\(\[\("out","(?P<out>/[^"]+)"')


@dataclass
class PendingCheck:
    rendered: RenderedEnv
    drv: str
    out: Path
    env_drv: str
    env_out: Path
    #: where the check was built by this call (``local``, a builder's host); None: not built now
    ran_on: str | None = None
    env_built_on: str | None = None
    lines: LiveLines | None = None
    done: bool = False

    @property
    def key(self) -> str:
        return self.rendered.spec.key


Finished = Callable[[PendingCheck, CheckRecord], None]


class CheckBuild:
    def __init__(self, nix: NixBackend, streams: OneAtATime, finished: Finished, *, store: str = "") -> None:
        self.nix = nix
        self.streams = streams
        self.finished = finished
        self.store = store
        self.checks: dict[str, PendingCheck] = {}
        self._by_drv: dict[str, PendingCheck] = {}
        self._by_env_drv: dict[str, PendingCheck] = {}
        self._by_out: dict[str, PendingCheck] = {}

    def run(
        self, envs: Sequence[RenderedEnv], default_nix: Path, checks_from: Path, roots: Path
    ) -> dict[str, NixtoxError]:
        """Every env's result reaches ``finished``; the envs whose check cannot be had are returned with
        the reason (evaluation error, failed env build and its log)."""
        errors = self._instantiate(envs, default_nix, checks_from, roots)
        todo = []
        for check in self.checks.values():
            if not self._finish(check):  # a result already in the store: nothing to build or fetch
                todo.append(check)
        outcome = None
        if todo:
            outcome = self.nix.realise([c.drv for c in todo], root=roots / "out", watcher=self)
        for check in todo:
            if not check.done and not self._finish(check):
                errors[check.key] = BuildError(self._why(check, outcome))
        return errors

    def _why(self, check: PendingCheck, outcome: RealiseOutcome | None) -> str:
        if check.ran_on is not None and store_has(self.store, str(check.out)):
            return f"the check of {check.rendered.spec.label} left an unreadable result {check.out}"
        return failure_reason(check.drv, self.nix, outcome)

    # -- instantiation --------------------------------------------------------------------------------
    def _instantiate(
        self, envs: Sequence[RenderedEnv], default_nix: Path, checks_from: Path, roots: Path
    ) -> dict[str, NixtoxError]:
        try:
            pairs = self._drvs(envs, default_nix, checks_from, roots / "drvs")
            found = dict(zip([e.spec.key for e in envs], pairs, strict=True))
            errors: dict[str, NixtoxError] = {}
        except BuildError:
            if len(envs) == 1:
                raise
            found, errors = {}, {}
            for index, env in enumerate(envs):  # attribute the evaluation error to its env
                try:
                    root = roots / f"drv-{index}"
                    found[env.spec.key] = self._drvs([env], default_nix, checks_from, root)[0]
                except BuildError as exc:
                    errors[env.spec.key] = exc
        by_key = {e.spec.key: e for e in envs}
        for key, (env_drv, drv) in found.items():
            check = PendingCheck(by_key[key], drv, self._output(drv), env_drv, self._output(env_drv))
            self.checks[key] = check
            self._by_drv[drv] = check
            self._by_env_drv[env_drv] = check
            self._by_out[str(check.out)] = check
        return errors

    def _drvs(
        self, envs: Sequence[RenderedEnv], default_nix: Path, checks_from: Path, root: Path
    ) -> list[tuple[str, str]]:
        """(env drv, check drv) per env: one ``nix-instantiate`` (two with ``--rerun``)."""
        env_attrs = [f"envs.{e.spec.key}" for e in envs]
        check_attrs = [f"kinds.{e.spec.key}.check" for e in envs]
        if checks_from == default_nix:
            drvs = self.nix.instantiate(default_nix, [*env_attrs, *check_attrs], root=root)
            return list(zip(drvs[: len(envs)], drvs[len(envs) :], strict=True))
        env_drvs = self.nix.instantiate(default_nix, env_attrs, root=root)
        check_drvs = self.nix.instantiate(
            checks_from, check_attrs, root=root.with_name(f"{root.name}-checks")
        )
        return list(zip(env_drvs, check_drvs, strict=True))

    def _output(self, drv: str) -> Path:
        """A derivation's output, read from its file (one Nix call less per derivation) when it can be."""
        try:
            head = store_file(self.store, drv).read_text(encoding="utf-8")[:4096]
        except OSError:
            return self.nix.output_path(drv)
        match = _DRV_OUT.match(head)
        return Path(match["out"]) if match else self.nix.output_path(drv)

    # -- results --------------------------------------------------------------------------------------
    def _finish(self, check: PendingCheck) -> bool:
        """Hand the env its result if it can be read now (True)."""
        if check.done or not store_has(self.store, str(check.out)):
            return check.done
        try:
            record = read_record(check.out, store_file(self.store, str(check.out)))
        except BuildError:
            return False
        check.done = True
        self.finished(check, record)
        return True

    # -- BuildWatcher ---------------------------------------------------------------------------------
    def build_started(self, drv: str, machine: str) -> None:
        if (env := self._by_env_drv.get(drv)) is not None and (env.env_built_on is None or machine):
            env.env_built_on = machine_host(machine)
        check = self._by_drv.get(drv)
        if check is None:
            return
        # a remote build shows twice: here ("on ssh-ng://…"), and the builder's own (machine "")
        if check.ran_on is None or machine:
            check.ran_on = machine_host(machine)
        if check.lines is None:
            spec = check.rendered.spec
            check.lines = LiveLines(spec, lambda text: self.streams.output(spec, text))
            self.streams.started(spec)

    def build_line(self, drv: str, line: str) -> bool:
        check = self._by_drv.get(drv)
        if check is None or check.lines is None:
            return False
        check.lines.feed(line)
        return True

    def build_stopped(self, drv: str, machine: str) -> None:
        check = self._by_drv.get(drv)
        if check is not None and not machine and check.ran_on == "local":
            self._finish(check)  # built here: the builder has written its output

    def path_copied(self, path: str, source: str) -> None:
        check = self._by_out.get(path)
        if check is not None:
            self._finish(check)  # from the builder that ran it, or from a cache
