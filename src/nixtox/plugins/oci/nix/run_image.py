"""The entry point of an image built by the ``oci`` env kind: the env's commands, with tox's semantics.

``/nixtox/spec.json`` holds the commands, set_env, change_dir and allowlist_externals; the semantics
are ``/nixtox/tox_commands.py`` (the file nixtox's own runs use). Arguments given to the container
replace the env's commands with that one command. Exits with the first failing command's code.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, "/nixtox")

import tox_commands

ROOT = "/src"
ENV_DIR = "/nixtox/env-dir"


class Outcome:
    def __init__(self, code: int, ok: bool) -> None:
        self.exit_code, self.ok = code, ok


def main(argv: list[str]) -> int:
    with open("/nixtox/spec.json", encoding="utf-8") as handle:
        spec = json.load(handle)
    env = spec["env"]
    for sub in ("tmp", "log"):
        os.makedirs(os.path.join(ENV_DIR, sub), exist_ok=True)
    if not os.path.lexists(os.path.join(ENV_DIR, "bin")):
        os.symlink(os.path.join(env, "bin"), os.path.join(ENV_DIR, "bin"))

    def place(value: str) -> str:
        return value.replace("@envDir@", ENV_DIR).replace("@projectRoot@", ROOT)

    environ = dict(os.environ)
    environ.update(
        {"VIRTUAL_ENV": env, "NIXTOX_ENV_NAME": spec["envName"], "TOX_ENV_NAME": spec["envName"],
         "NIXTOX_ENV_DIR": ENV_DIR, "TOX_ENV_DIR": ENV_DIR}
    )  # fmt: skip
    environ["PATH"] = os.path.join(env, "bin") + os.pathsep + environ.get("PATH", "")
    environ.update({k: place(v) for k, v in spec["setEnv"].items()})
    cwd = os.path.join(ROOT, spec["changeDir"])
    commands = spec["commands"]
    if argv:
        commands = [{"phase": "commands", "argv": argv, "ignoreExitCode": False, "invertExitCode": False}]

    def run_one(command, phase):  # type: ignore[no-untyped-def]
        args = [place(a) for a in command["argv"]]
        print(f"{spec['envName']}: {phase}> {' '.join(args)}", flush=True)
        program, reason = tox_commands.resolve_program(
            args[0], env_bin=os.path.join(env, "bin"), path=environ["PATH"],
            allowlist=spec["allowlistExternals"] if not argv else ["*"],
        )  # fmt: skip
        if program is None:
            print(f"{spec['envName']}: {reason}", flush=True)
            return Outcome(tox_commands.NOT_RUNNABLE, False)
        # protect=False: a container's file system is a throwaway copy, its store no shared one
        code, _output, _seconds = tox_commands.spawn(
            [program, *args[1:]], cwd=cwd, environ=environ, sink=sys.stdout.write, protect=False
        )
        sys.stdout.flush()
        ok = tox_commands.command_ok(
            code, ignore_exit_code=command["ignoreExitCode"], invert_exit_code=command["invertExitCode"]
        )
        return Outcome(code, ok)

    phases = [(phase, [c for c in commands if c["phase"] == phase]) for phase in tox_commands.PHASES]
    ran = tox_commands.run_all(
        phases, run_one, ignore_errors=spec["ignoreErrors"], retries=spec.get("commandsRetry", 0)
    )
    return int(ran.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
