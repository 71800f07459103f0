"""Run events as a display hears them, recorded: (event, env key, text or status)."""

from __future__ import annotations

from nixtox.model import EnvResult, EnvSpec


class Heard:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def env_started(self, spec: EnvSpec) -> None:
        self.events.append(("started", spec.key, ""))

    def env_output(self, spec: EnvSpec, text: str) -> None:
        self.events.append(("output", spec.key, text))

    def env_done(self, result: EnvResult) -> None:
        self.events.append(("done", result.spec.key, str(result.status)))
