"""Several envs' live output, each env's shown whole: never two envs' lines interleaved.

Nix runs several test derivations at once (local jobs, remote builders) while ``nixtox run`` (not
``run-parallel``) streams each line as it comes. ``OneAtATime`` passes one env's lines through as they
come (the first that started); the others' are held and shown, each in one block, when the env before
them has ended, and each env's end follows its own lines. With ``serial`` off (a parallel display,
which holds each env's output itself) everything passes straight through.
"""

from __future__ import annotations

from typing import Protocol

from nixtox.model import EnvResult, EnvSpec

__all__ = ["EnvEvents", "OneAtATime"]


class EnvEvents(Protocol):
    def env_started(self, spec: EnvSpec) -> None: ...

    def env_output(self, spec: EnvSpec, text: str) -> None: ...

    def env_done(self, result: EnvResult) -> None: ...


class OneAtATime:
    def __init__(self, events: EnvEvents, *, serial: bool) -> None:
        self.events = events
        self.serial = serial
        self.current: str | None = None
        #: held envs, in the order they started: their lines and (once ended) their result
        self.held: dict[str, tuple[EnvSpec, list[str], EnvResult | None]] = {}

    def started(self, spec: EnvSpec) -> None:
        self.events.env_started(spec)
        if self.serial and spec.key != self.current:
            self.held.setdefault(spec.key, (spec, [], None))
            if self.current is None:
                self._next()

    def output(self, spec: EnvSpec, text: str) -> None:
        if not self.serial or spec.key == self.current:
            self.events.env_output(spec, text)
            return
        if self.current is None and not self.held:
            self.current = spec.key
            self.events.env_output(spec, text)
            return
        self.held.setdefault(spec.key, (spec, [], None))[1].append(text)

    def done(self, result: EnvResult) -> None:
        key = result.spec.key
        if not self.serial or key == self.current or (self.current is None and key not in self.held):
            self.events.env_done(result)
            if key == self.current:
                self.current = None
                self._next()
            return
        spec, lines, _ = self.held.setdefault(key, (result.spec, [], None))
        self.held[key] = (spec, lines, result)

    def _next(self) -> None:
        """The first held env comes through: its lines so far, then live (or its end, if it has ended)."""
        while self.current is None and self.held:
            key = next(iter(self.held))
            spec, lines, result = self.held.pop(key)
            for text in lines:
                self.events.env_output(spec, text)
            if result is None:
                self.current = key
            else:
                self.events.env_done(result)

    def close(self) -> None:
        """The Nix call is over: whatever is held comes out, in order (an env that ended without a
        result is announced by the session, after its lines)."""
        self.current = None
        while self.held:
            key = next(iter(self.held))
            spec, lines, result = self.held.pop(key)
            for text in lines:
                self.events.env_output(spec, text)
            if result is not None:
                self.events.env_done(result)
