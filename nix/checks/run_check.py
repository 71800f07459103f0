"""Builder of ``mkCheck``: run an environment's commands (tox semantics) inside a derivation.

Inputs (derivation attributes, seen as environment variables): ``nixtoxEnv`` (the env's store path),
``nixtoxEnvName``, ``src``, ``commandsJson`` (``[{phase, argv, ignoreExitCode, invertExitCode}]``),
``setEnvJson``, ``changeDir``, ``allowFailure``, ``out``. Stdlib only; runs on Python 3.8+.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

PHASES = ("commands_pre", "commands", "commands_post")


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


def _environ(name: str, env: str, env_dir: str, home: str, place) -> dict:  # type: ignore[no-untyped-def]
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


def _run_all(commands: list, *, name: str, cwd: str, environ: dict, place, log) -> tuple:  # type: ignore[no-untyped-def]
    """tox order: commands_pre; commands unless a pre failed, stopping at the first failure;
    commands_post always. Returns (first failing exit code or 0, per-command results)."""
    results = []
    failed = 0
    for phase in PHASES:
        for command in (c for c in commands if c["phase"] == phase):
            if failed and phase != "commands_post":
                break
            argv = [place(a) for a in command["argv"]]
            log(f"{name}: {phase}> {' '.join(argv)}\n")
            try:
                proc = subprocess.run(
                    argv, cwd=cwd, env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, check=False,
                )
                code = proc.returncode
                log(proc.stdout.decode("utf-8", "replace"))
            except OSError as exc:
                code = 127
                log(f"{name}: cannot run {argv[0]!r}: {exc}\n")
            ok = (code != 0 if command["invertExitCode"] else code == 0) or command["ignoreExitCode"]
            results.append({"phase": phase, "argv": argv, "exit_code": code, "ok": ok})
            if not ok and not failed:
                failed = code or 1
    return failed, results


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
    os.makedirs(out)
    with open(os.path.join(out, "log"), "w", encoding="utf-8") as log_file:

        def log(text: str) -> None:
            log_file.write(text)
            log_file.flush()
            sys.stderr.write(text)
            sys.stderr.flush()

        commands = json.loads(os.environ["commandsJson"])
        exit_code, results = _run_all(commands, name=name, cwd=cwd, environ=environ, place=place, log=log)
    with open(os.path.join(out, "exit-code"), "w", encoding="utf-8") as f:
        f.write(f"{exit_code}\n")
    with open(os.path.join(out, "result.json"), "w", encoding="utf-8") as f:
        json.dump({"env": name, "exit_code": exit_code, "commands": results}, f, indent=2, sort_keys=True)
        f.write("\n")
    if exit_code and not os.environ.get("allowFailure"):
        sys.stderr.write(f"nixtox: {name}: a command failed (exit {exit_code}), see the log above\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
