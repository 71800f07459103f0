"""tox's command semantics, the one definition nixtox has.

Host runs (``nixtox.run``, which loads this file from the Nix library) and runs inside a derivation
(``mkCheck``'s builder, ``run_check.py``) both use it, so an env's commands behave the same wherever they
run. Stdlib only, Python 3.8+ (it runs under the env's own interpreter inside Nix).

* ``extra_setup_commands`` first (tox runs them at the end of the env's setup): a failure ends the env
  with exit 1 before anything else runs, unless ``ignore_errors`` (then it does not count at all);
* ``commands_pre``, then ``commands`` unless a pre command failed (``ignore_errors`` runs them anyway),
  then ``commands_post`` always (not after an interrupt); within each list the first failure stops the
  list unless ``ignore_errors``; the env's failure is the first failing command of pre, main, post;
* ``commands_retry``: a failing command of pre, main or post runs again, up to that many more times
  (every attempt is an outcome); the setup commands are not retried, as in tox;
* a ``-`` command never fails, a ``!`` command fails on success;
* a program is looked up on the env's PATH; one outside the env's ``bin`` must match
  ``allowlist_externals`` (globs, on the name or the path); a refused or missing program is exit 127;
* each command runs in its own process group (so the whole group can be stopped), stdin closed,
  stdout and stderr merged and streamed line by line.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import shutil
import subprocess
import sys
import time


def sibling(name: str):  # type: ignore[no-untyped-def]
    """Another module of this directory, loaded once under ``nixtox_checks_<name>`` (this file is loaded
    by path, not as part of a package)."""
    key = "nixtox_checks_" + name
    if key not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[key] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[key]


readonly = sibling("readonly")

PHASES = ("extra_setup_commands", "commands_pre", "commands", "commands_post")
#: phases tox's result JSON lists under ``setup`` (run ids not starting with ``commands``)
SETUP_PHASES = ("extra_setup_commands",)
#: exit code of a command nixtox refused to start (not found, not allowed), as a shell would give.
NOT_RUNNABLE = 127


def command_ok(exit_code: int, *, ignore_exit_code: bool = False, invert_exit_code: bool = False) -> bool:
    if ignore_exit_code:
        return True
    if invert_exit_code:
        return exit_code != 0
    return exit_code == 0


#: options with which a test runner writes JUnit XML (pytest's spellings)
JUNIT_OPTIONS = ("--junitxml", "--junit-xml")


def junit_values(argv):  # type: ignore[no-untyped-def]
    """The JUnit files ``argv`` asks for (``--junitxml=P``, ``--junit-xml P``), as written: what the
    check builder collects inside Nix and what the host's reports merge."""
    found = []
    for index, arg in enumerate(argv):
        option, sep, value = arg.partition("=")
        if option not in JUNIT_OPTIONS:
            continue
        if not sep:
            value = argv[index + 1] if index + 1 < len(argv) else ""
        if value:
            found.append(value)
    return found


def resolve_program(program, *, env_bin, path, allowlist):  # type: ignore[no-untyped-def]
    """``(executable, "")`` or ``(None, reason)``: programs outside the env need allowlist_externals."""
    env_bin = str(env_bin)
    if os.sep in program:
        found = program if os.path.isfile(program) else None
    else:
        found = shutil.which(program, path=path)
    if found is None:
        return None, f"command {program!r} not found"
    # the env's own bin, also reached through a link to it (tox's {env_bin_dir} in .nixtox/envs/<key>)
    if os.path.realpath(os.path.dirname(found)) == os.path.realpath(env_bin) or found.startswith(
        env_bin + os.sep
    ):
        return found, ""
    if any(fnmatch.fnmatch(program, pat) or fnmatch.fnmatch(found, pat) for pat in allowlist):
        return found, ""
    return None, (
        f"{program!r} ({found}) is not part of the env and not in allowlist_externals;"
        " add it there to allow it"
    )


class Ran:
    """What ``run_all`` ran: every outcome in order, the outcome that fails the env (None: it passed) and
    the env's exit code (tox's: a failed setup command gives 1, else the failing command's code)."""

    def __init__(self, outcomes, failed=None, failed_phase=None):  # type: ignore[no-untyped-def]
        self.outcomes = outcomes
        self.failed = failed
        self.failed_phase = failed_phase

    @property
    def exit_code(self):  # type: ignore[no-untyped-def]
        if self.failed is None:
            return 0
        if self.failed_phase in SETUP_PHASES:
            return 1
        return self.failed.exit_code or 1


def run_all(phases, run_one, *, ignore_errors=False, retries=0, stopped=lambda: False):  # type: ignore[no-untyped-def]
    """Run ``phases`` (``[(phase, [command, ...]), ...]``) in tox's order with ``run_one(command, phase)``,
    which returns an outcome with ``ok``; return a ``Ran``.

    ``retries`` is ``commands_retry``; ``stopped()`` says an interrupt came: no further command starts,
    commands_post neither."""
    outcomes = []

    def phase(name, commands, retry):  # type: ignore[no-untyped-def]
        """The first failing outcome of the list (None: all passed)."""
        first = None
        for command in commands:
            outcome = None
            for _attempt in range(max(retry, 0) + 1):
                if stopped():
                    return first
                outcome = run_one(command, name)
                outcomes.append(outcome)
                if outcome.ok:
                    break
            if outcome is None or outcome.ok:
                continue
            first = first or outcome
            if not ignore_errors:
                break
        return first

    by_name = dict(phases)
    setup = phase("extra_setup_commands", by_name.get("extra_setup_commands", ()), 0)
    if setup is not None and not ignore_errors:
        return Ran(outcomes, setup, "extra_setup_commands")
    pre = phase("commands_pre", by_name.get("commands_pre", ()), retries)
    main = None
    if pre is None or ignore_errors:
        main = phase("commands", by_name.get("commands", ()), retries)
    post = None
    if not stopped():
        post = phase("commands_post", by_name.get("commands_post", ()), retries)
    for name, failed in (("commands_pre", pre), ("commands", main), ("commands_post", post)):
        if failed is not None:
            return Ran(outcomes, failed, name)
    return Ran(outcomes)


def run_phases(phases, run_one, *, ignore_errors=False, retries=0, stopped=lambda: False):  # type: ignore[no-untyped-def]
    """``run_all``'s outcomes (for runners that only list what ran)."""
    return run_all(phases, run_one, ignore_errors=ignore_errors, retries=retries, stopped=stopped).outcomes


def spawn(argv, *, cwd, environ, sink, started=None, warn=None, protect=True):  # type: ignore[no-untyped-def]
    """Run ``argv`` to its end in a new process group, output merged and handed to ``sink`` line by line,
    with the Nix store read-only for it (``readonly.py``; ``protect=False`` where the store is a
    throwaway copy, as in a container). ``started(proc)`` is called once the process exists (so a caller
    can stop it on an interrupt); ``warn`` hears, once, that the store could not be protected. Returns
    (exit code, output, seconds)."""
    start = time.monotonic()
    chunks = []
    popen = readonly.start_protected if protect else _plain_popen
    with popen(
        argv,
        warn=warn,
        cwd=cwd,
        env=dict(environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        errors="replace",
        start_new_session=True,
    ) as proc:
        if started is not None:
            started(proc)
        for line in proc.stdout:
            chunks.append(line)
            sink(line)
        code = proc.wait()
    return code, "".join(chunks), time.monotonic() - start


def _plain_popen(argv, *, warn=None, **kwargs):  # type: ignore[no-untyped-def]
    del warn
    return subprocess.Popen(argv, **kwargs)
