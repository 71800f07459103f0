"""Per-command log files, as tox keeps them in ``.tox/<env>/log/``: here ``.nixtox/envs/<key>/log/``.

Each is ``<N>-<run_id>.log``: ``N`` counts the env's commands from 1 and ``run_id`` is tox's
(``commands_pre[0]``, ``commands[1]``); each file starts with tox's header lines (name, run_id, env,
metadata, cwd, allow, cmd, exit_code) and then holds the command's output. The directory is emptied
when the env runs again, as tox does.

Environment values are written only for variables nixtox or ``set_env`` set: a value passed from the
host (``pass_env``) is written as ``***``, and so is any variable whose name looks secret (tox's rule),
because CI jobs archive these files; where a command printed a value its env's ``pass_env`` brought in,
the log has ``***`` too (the store and ``.nixtox`` never hold a pass_env value).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from nixtox.model import CommandOutcome, EnvResult, EnvSpec
from nixtox.report._lines import SECRET_NAME, shown

__all__ = ["LOG_DIR", "command_runs", "failed_log", "write_command_logs"]

LOG_DIR = "log"
#: variables nixtox itself sets for every command (run/_environ.py)
_OWN = re.compile(r"^(PATH|PYTHONPYCACHEPREFIX|PYTHONHASHSEED|VIRTUAL_ENV|NIXTOX_.*|TOX_ENV_.*)$")
#: tox's secret-looking names (tox/util/redact.py, after gitleaks' generic-api-key rule)
_SECRET = re.compile(
    r".*(access|api|auth|client|cred|key|passwd|password|private|pwd|secret|token).*",
    re.IGNORECASE | re.DOTALL,
)
HIDDEN = "***"


def command_runs(outcomes: Sequence[CommandOutcome]) -> list[tuple[str, str]]:
    """(run_id, log file name) per outcome: ``commands[0]`` and ``2-commands[0].log``. A retry
    (``commands_retry``: the same command right after it failed) keeps its run id, as in tox; its log
    file is its own."""
    per_phase: dict[str, int] = {}
    runs: list[tuple[str, str]] = []
    previous: CommandOutcome | None = None
    for number, outcome in enumerate(outcomes, start=1):
        retry = (
            previous is not None
            and not previous.ok
            and previous.phase == outcome.phase
            and previous.command is outcome.command
        )
        if retry:
            run_id = runs[-1][0]
        else:
            index = per_phase.get(outcome.phase, 0)
            per_phase[outcome.phase] = index + 1
            run_id = f"{outcome.phase}[{index}]"
        runs.append((run_id, f"{number}-{run_id}.log"))
        previous = outcome
    return runs


def _hidden(spec: EnvSpec, key: str) -> bool:
    configured = any(name == key for name, _ in spec.config.set_env)
    own = configured or _OWN.match(key) is not None
    return not own or SECRET_NAME.match(key) is not None


def _env_lines(spec: EnvSpec, environ: Mapping[str, str]) -> str:
    return "".join(
        f"env {key}: {HIDDEN if _hidden(spec, key) else environ[key]}\n" for key in sorted(environ)
    )


def _masker(
    spec: EnvSpec, environ: Mapping[str, str], default_pass_env: Collection[str]
) -> Callable[[str], str]:
    """Replaces, in a command's output, the values the env's own ``pass_env`` brought from the host (a
    token a test prints must not end up in ``.nixtox``); tox's default pass-through (HOME, LANG ...) is
    left alone unless its name looks secret. Values under 4 characters would mask too much."""
    defaults = {name.lower() for name in default_pass_env}
    values = sorted(
        {
            value
            for key, value in environ.items()
            if len(value) >= 4
            and _hidden(spec, key)
            and (key.lower() not in defaults or SECRET_NAME.match(key))
        },
        key=len,
        reverse=True,
    )
    if not values:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return lambda text: pattern.sub(HIDDEN, text)


def _header(
    spec: EnvSpec, outcome: CommandOutcome, run_id: str, *, environ: str, cwd: Path, allow: str
) -> str:
    meta = f"metadata pid: {outcome.pid}\n" if outcome.pid is not None else ""
    return (
        f"name: {spec.label}\nrun_id: {run_id}\n{environ}{meta}cwd: {cwd}\nallow: {allow}\n"
        f"cmd: {shown(outcome.command)}\nexit_code: {outcome.exit_code}\n"
    )


def write_command_logs(
    log_dir: Path,
    spec: EnvSpec,
    outcomes: Sequence[CommandOutcome],
    *,
    environ: Mapping[str, str],
    cwd: Path,
    env_bin: Path,
    default_pass_env: Collection[str] = (),
) -> None:
    """Replace ``log_dir``'s files with one per command of this run; ``default_pass_env`` are the
    variables every env passes through (not masked in output unless their names look secret)."""
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    env_text, mask = _env_lines(spec, environ), _masker(spec, environ, default_pass_env)
    allow = ":".join([f"{env_bin}/*", *spec.config.allowlist_externals])
    for outcome, (run_id, name) in zip(outcomes, command_runs(outcomes), strict=True):
        text = _header(spec, outcome, run_id, environ=env_text, cwd=cwd, allow=allow) + mask(outcome.output)
        (log_dir / name).write_text(text, encoding="utf-8", errors="backslashreplace")


def failed_log(result: EnvResult) -> Path | None:
    """The log file of the command that failed the env, or its log directory, or None."""
    if result.log_dir is None:
        return None
    for outcome, (_, name) in zip(result.commands, command_runs(result.commands), strict=True):
        if not outcome.ok:
            return result.log_dir / name
    return result.log_dir
