"""Builder of ``mkCheck``: run an environment's commands (tox semantics) inside a derivation.

The semantics are ``tox_commands.py``'s, the same file nixtox's host runs use. Inputs (derivation
attributes, seen as environment variables): ``nixtoxEnv`` (the env's store path), ``nixtoxEnvName``,
``src``, ``commandsJson`` (``[{phase, argv, ignoreExitCode, invertExitCode}]``), ``setEnvJson``,
``changeDir``, ``allowlistJson``, ``ignoreErrors``, ``commandsRetry``, ``allowFailure``, ``out``. Stdlib
only; runs on Python 3.8+.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import json
import os
import shutil
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tox_commands


class Outcome:
    def __init__(self, phase: str, argv: list, code: int, ok: bool) -> None:  # type: ignore[type-arg]
        self.phase, self.argv, self.exit_code, self.ok = phase, argv, code, ok

    def as_json(self) -> dict:  # type: ignore[type-arg]
        return {"phase": self.phase, "argv": self.argv, "exit_code": self.exit_code, "ok": self.ok}


def _writable_copy(src: str, dest: str) -> None:
    """Copy the (read-only) source so tests can write caches and reports next to it."""
    if os.path.isdir(src):
        shutil.copytree(src, dest, symlinks=True)
    else:
        os.makedirs(dest)
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    os.chmod(dest, os.stat(dest).st_mode | stat.S_IWUSR)


def _env_dir(tmp: str, env: str) -> str:
    env_dir = os.path.join(tmp, "env-dir")
    for sub in ("tmp", "log"):
        os.makedirs(os.path.join(env_dir, sub), exist_ok=True)
    os.symlink(os.path.join(env, "bin"), os.path.join(env_dir, "bin"))
    return env_dir


def _environ(name: str, env: str, env_dir: str, home: str, place) -> dict:  # type: ignore[no-untyped-def,type-arg]
    environ = {k: v for k, v in os.environ.items() if not k.endswith("Json")}
    environ.update(
        {
            "HOME": home,
            "VIRTUAL_ENV": env,
            "NIXTOX_ENV_NAME": name,
            "NIXTOX_ENV_DIR": env_dir,
            "TOX_ENV_NAME": name,
            "TOX_ENV_DIR": env_dir,
        }
    )
    environ.update({k: place(v) for k, v in json.loads(os.environ.get("setEnvJson", "{}")).items()})
    return environ


def main() -> int:
    out = os.environ["out"]
    tmp = os.environ.get("TMPDIR") or os.environ.get("NIX_BUILD_TOP") or "/tmp"
    env = os.environ["nixtoxEnv"]
    name = os.environ.get("nixtoxEnvName", "env")
    root = os.path.join(tmp, "src")
    _writable_copy(os.environ["src"], root)
    env_dir = _env_dir(tmp, env)
    home = os.path.join(tmp, "home")
    os.makedirs(home, exist_ok=True)

    def place(value: str) -> str:
        return value.replace("@envDir@", env_dir).replace("@projectRoot@", root)

    environ = _environ(name, env, env_dir, home, place)
    cwd = os.path.join(root, os.environ.get("changeDir", ""))
    allowlist = json.loads(os.environ.get("allowlistJson") or "[]")
    os.makedirs(out)
    with open(os.path.join(out, "log"), "w", encoding="utf-8") as log_file:

        def log(text: str) -> None:
            log_file.write(text)
            log_file.flush()
            sys.stderr.write(text)
            sys.stderr.flush()

        def run_one(command, phase):  # type: ignore[no-untyped-def]
            argv = [place(a) for a in command["argv"]]
            log("{}: {}> {}\n".format(name, phase, " ".join(argv)))
            program, reason = tox_commands.resolve_program(
                argv[0], env_bin=os.path.join(env, "bin"), path=environ["PATH"], allowlist=allowlist
            )
            if program is None:
                log(f"{name}: {reason}\n")
                code = tox_commands.NOT_RUNNABLE
            else:
                try:
                    code, _output, _seconds = tox_commands.spawn(
                        [program, *argv[1:]], cwd=cwd, environ=environ, sink=log
                    )
                except OSError as exc:
                    log(f"{name}: cannot run {argv[0]!r}: {exc}\n")
                    code = tox_commands.NOT_RUNNABLE
            ok = tox_commands.command_ok(
                code, ignore_exit_code=command["ignoreExitCode"], invert_exit_code=command["invertExitCode"]
            )
            return Outcome(phase, argv, code, ok)

        commands = json.loads(os.environ["commandsJson"])
        phases = [(phase, [c for c in commands if c["phase"] == phase]) for phase in tox_commands.PHASES]
        ran = tox_commands.run_all(
            phases, run_one, ignore_errors=bool(os.environ.get("ignoreErrors")),
            retries=int(os.environ.get("commandsRetry") or 0),
        )  # fmt: skip
    outcomes = ran.outcomes
    exit_code = ran.exit_code
    with open(os.path.join(out, "exit-code"), "w", encoding="utf-8") as f:
        f.write(f"{exit_code}\n")
    with open(os.path.join(out, "result.json"), "w", encoding="utf-8") as f:
        result = {"env": name, "exit_code": exit_code, "commands": [o.as_json() for o in outcomes]}
        json.dump(result, f, indent=2, sort_keys=True)
        f.write("\n")
    if exit_code and not os.environ.get("allowFailure"):
        sys.stderr.write(f"nixtox: {name}: a command failed (exit {exit_code}), see the log above\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
