"""Builder of ``mkCheck``: run an environment's commands (tox semantics) inside a derivation, and record
what happened.

The semantics are ``tox_commands.py``'s, the same file nixtox's host runs use. Inputs (derivation
attributes, seen as environment variables): ``nixtoxEnv`` (the env's store path), ``nixtoxEnvName``,
``src``, ``commandsJson`` (``[{phase, argv, ignoreExitCode, invertExitCode}]``), ``setEnvJson``,
``changeDir``, ``allowlistJson``, ``ignoreErrors``, ``commandsRetry``, ``allowFailure``, ``out``. Stdlib
only; runs on Python 3.8+.

The output is the record nixtox reports from (``run_in = "nix"``), so that a result is a store path
that Nix caches, copies from remote builders and serves from binary caches:

* ``result.json``: per command its phase, position, argv as run, program, exit code, output, start
  (seconds since the epoch) and duration, and the JUnit files it wrote (``--junitxml``), with their
  text; for the run, the machine's hostname and when it started and ended;
* ``exit-code``: the env's exit code (0, or the failing command's);
* ``log``: every command's output, tox-style, for people (``nix log`` has it too).

A record must not keep the env alive: Nix scans an output for the hashes of its inputs and makes each
one found a runtime dependency, so a traceback naming a file of the env would drag the env and its
interpreter into every copy of the result. ``result.json`` writes the middle character of each store
hash as a JSON escape (``\\u0061``), which ``json.load`` reads back exactly; ``log`` shows store hashes
as ``eeee…`` (what nixpkgs' ``remove-references-to`` writes), as no hash contains an ``e``.

While the commands run, the builder writes what a host run displays to stderr (Nix's build log):
each command's output as it comes, and before and after a command one ``@nixtox {...}`` line, which
nixtox turns into tox's ``py312: commands[0]> ...`` and ``exit 1 (...)`` lines.
"""

# Derivation attributes reach a builder as camelCase environment variables.
# ruff: noqa: SIM112

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tox_commands

#: the version of ``result.json``'s layout (nixtox reads 2 and up; 1 had no outputs and no times)
RESULT_VERSION = 2
#: a JUnit file counts as the command's when it was written after the command started (this much slack)
JUNIT_SLACK = 2.0
#: what a structured line on stderr starts with (nixtox's live display reads it)
MARKER = "@nixtox "
_NO_HASH = "e" * 32


def store_hash_pattern(store: str) -> re.Pattern:  # type: ignore[type-arg]
    """A store path's hash after ``store``: Nix's base32 alphabet, 32 characters, then ``-``; in three
    groups around its middle character."""
    c = "[0-9a-df-np-sv-z]"
    return re.compile(f"({re.escape(store.rstrip('/'))}/{c}{{16}})({c})({c}{{15}}-)")


def escape_hashes(text: str, pattern: re.Pattern) -> str:  # type: ignore[type-arg]
    """JSON text with the middle character of every store hash as a ``\\u`` escape (the same value).
    The escape's backslash and ``u`` are not in Nix's alphabet, so the longest run of hash characters
    left is 20 long: no window of 32 matches a hash."""
    return pattern.sub(lambda m: f"{m.group(1)}\\u{ord(m.group(2)):04x}{m.group(3)}", text)


def elide_hashes(text: str, pattern: re.Pattern) -> str:  # type: ignore[type-arg]
    """Text with every store hash written as ``eeee…``: readable, and no reference for Nix to find."""
    return pattern.sub(lambda m: m.group(1)[:-16] + _NO_HASH + "-", text)


class Outcome:
    """One command's record; ``ok`` (tox's rule, after ``-``/``!``) is what ``run_phases`` reads."""

    def __init__(self, phase: str, index: int, argv: list, program) -> None:  # type: ignore[no-untyped-def,type-arg]
        self.phase, self.index, self.argv, self.program = phase, index, argv, program
        self.exit_code, self.ok = tox_commands.NOT_RUNNABLE, False
        self.output, self.started, self.seconds = "", time.time(), 0.0
        self.junit = []  # type: list

    def as_json(self) -> dict:  # type: ignore[type-arg]
        return {
            "phase": self.phase,
            "index": self.index,
            "argv": self.argv,
            "executable": self.program,
            "exit_code": self.exit_code,
            "ok": self.ok,
            "output": self.output,
            "started": self.started,
            "seconds": self.seconds,
            "junit": self.junit,
        }


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


class Run:
    """One check: the places it made, and how it logs and records each command."""

    def __init__(self, tmp: str) -> None:
        self.name = os.environ.get("nixtoxEnvName", "env")
        self.env = os.environ["nixtoxEnv"]
        self.root = os.path.join(tmp, "src")
        _writable_copy(os.environ["src"], self.root)
        self.env_dir = _env_dir(tmp, self.env)
        home = os.path.join(tmp, "home")
        os.makedirs(home, exist_ok=True)
        self.environ = _environ(self.name, self.env, self.env_dir, home, self.place)
        self.cwd = os.path.join(self.root, os.environ.get("changeDir", ""))
        self.allowlist = json.loads(os.environ.get("allowlistJson") or "[]")
        self.log_lines = []  # type: list

    def place(self, value: str) -> str:
        return value.replace("@envDir@", self.env_dir).replace("@projectRoot@", self.root)

    def unplace(self, path: str) -> str:
        """An inside path in the placeholders' terms, so nixtox finds it on the host."""
        for inside, placeholder in ((self.env_dir, "@envDir@"), (self.root, "@projectRoot@")):
            if path == inside or path.startswith(inside + os.sep):
                return placeholder + path[len(inside) :]
        return path

    def mark(self, event: dict) -> None:  # type: ignore[type-arg]
        sys.stderr.write(MARKER + json.dumps(event, sort_keys=True) + "\n")
        sys.stderr.flush()

    def output(self, text: str) -> None:
        self.log_lines.append(text)
        sys.stderr.write(text)
        sys.stderr.flush()

    def run_one(self, command, phase):  # type: ignore[no-untyped-def]
        index = command["position"]  # a retry of a command keeps its position
        argv = [self.place(a) for a in command["argv"]]
        self.mark({"event": "start", "phase": phase, "index": index})
        self.log_lines.append("{}: {}[{}]> {}\n".format(self.name, phase, index, " ".join(argv)))
        program, reason = tox_commands.resolve_program(
            argv[0],
            env_bin=os.path.join(self.env, "bin"),
            path=self.environ["PATH"],
            allowlist=self.allowlist,
        )
        outcome = Outcome(phase, index, argv, program)
        start = time.monotonic()
        if program is None:
            outcome.output = f"{self.name}: {reason}\n"
            self.output(outcome.output)
        else:
            try:
                outcome.exit_code, outcome.output, _ = tox_commands.spawn(
                    [program, *argv[1:]], cwd=self.cwd, environ=self.environ, sink=self.output
                )
            except OSError as exc:
                outcome.output = f"{self.name}: cannot run {argv[0]!r}: {exc}\n"
                self.output(outcome.output)
        outcome.seconds = time.monotonic() - start
        outcome.ok = tox_commands.command_ok(
            outcome.exit_code,
            ignore_exit_code=command["ignoreExitCode"],
            invert_exit_code=command["invertExitCode"],
        )
        outcome.junit = self.junit_files(argv, outcome.started)
        self.mark({"event": "exit", "phase": phase, "index": index, "exit_code": outcome.exit_code,
                   "seconds": outcome.seconds})  # fmt: skip
        return outcome

    def junit_files(self, argv: list, started: float) -> list:  # type: ignore[type-arg]
        found = []
        for value in tox_commands.junit_values(argv):
            path = os.path.join(self.cwd, value)
            try:
                mtime = os.stat(path).st_mtime
                if mtime < started - JUNIT_SLACK:
                    continue  # not written by this command
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            found.append({"path": self.unplace(os.path.normpath(path)), "mtime": mtime, "text": text})
        return found


def _write(out: str, run: Run, ran: tox_commands.Ran, started: float) -> int:
    outcomes, exit_code = ran.outcomes, ran.exit_code
    hashes = store_hash_pattern(os.environ.get("NIX_STORE") or "/nix/store")
    os.makedirs(out)
    with open(os.path.join(out, "exit-code"), "w", encoding="utf-8") as f:
        f.write(f"{exit_code}\n")
    with open(os.path.join(out, "log"), "w", encoding="utf-8") as f:
        f.write(elide_hashes("".join(run.log_lines), hashes))
    result = {
        "version": RESULT_VERSION,
        "env": run.name,
        "exit_code": exit_code,
        "host": socket.gethostname(),
        "started": started,
        "finished": time.time(),
        "commands": [o.as_json() for o in outcomes],
        "environ": run.environ,
    }
    with open(os.path.join(out, "result.json"), "w", encoding="utf-8") as f:
        f.write(escape_hashes(json.dumps(result, indent=2, sort_keys=True), hashes))
        f.write("\n")
    return exit_code


def main() -> int:
    started = time.time()
    tmp = os.environ.get("TMPDIR") or os.environ.get("NIX_BUILD_TOP") or "/tmp"
    run = Run(tmp)
    commands = json.loads(os.environ["commandsJson"])
    phases = [(phase, [c for c in commands if c["phase"] == phase]) for phase in tox_commands.PHASES]
    for _phase, listed in phases:
        for position, command in enumerate(listed):
            command["position"] = position
    ran = tox_commands.run_all(
        phases, run.run_one, ignore_errors=bool(os.environ.get("ignoreErrors")),
        retries=int(os.environ.get("commandsRetry") or 0),
    )  # fmt: skip
    exit_code = _write(os.environ["out"], run, ran, started)
    if exit_code and not os.environ.get("allowFailure"):
        sys.stderr.write(f"nixtox: {run.name}: a command failed (exit {exit_code}), see the log above\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
