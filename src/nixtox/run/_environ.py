"""The process environment a command sees: tox's pass_env rules plus the env's own variables."""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from nixtox.model import EnvSpec

__all__ = ["DEFAULT_PASS_ENV", "command_environ"]

#: tox 4's default pass_env list (tox_env/api.py), so commands see what they see under tox.
DEFAULT_PASS_ENV = (
    "https_proxy", "http_proxy", "no_proxy", "LANG", "LANGUAGE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
    "CC", "CFLAGS", "CCSHARED", "CXX", "CPPFLAGS", "LD_LIBRARY_PATH", "LDFLAGS", "HOME", "FORCE_COLOR",
    "NO_COLOR", "NETRC", "PYTHON_GIL", "TMPDIR", "NIX_LD", "NIX_LD_LIBRARY_PATH", "SSH_AGENT_PID",
    "SSH_AUTH_SOCK",
)  # fmt: skip


def _passed(patterns: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    compiled = [re.compile(fnmatch.translate(p), re.IGNORECASE) for p in patterns]
    return {k: v for k, v in environ.items() if any(c.match(k) for c in compiled)}


def command_environ(
    spec: EnvSpec,
    *,
    store_path: Path,
    env_dir: Path,
    hash_seed: str | None,
    environ: Mapping[str, str] | None = None,
    bytecode: Path | None = None,
) -> dict[str, str]:
    """Variables for one env's commands. pass_env values go to the process only, never to Nix.
    ``bytecode``: the ``PYTHONPYCACHEPREFIX`` (None: the env's own bytecode, the store read-only);
    ``hash_seed`` None (``--hashseed notset``): PYTHONHASHSEED is not set (a passed-through one stays)."""
    source = os.environ if environ is None else environ
    patterns = list(DEFAULT_PASS_ENV)
    if sys.stdout.isatty():
        patterns += ["TERM", "TERMINFO"]
    patterns += list(spec.config.pass_env)
    result = _passed(patterns, source)
    # tox: disallow_pass_env globs remove what pass_env (with its defaults) let through
    refused = _passed(list(spec.config.disallow_pass_env), result)
    result = {k: v for k, v in result.items() if k not in refused}
    result["PATH"] = os.pathsep.join([str(store_path / "bin"), source.get("PATH", os.defpath)])
    result.update(
        {
            "VIRTUAL_ENV": str(store_path),
            "NIXTOX_ENV_NAME": spec.name,
            "NIXTOX_ENV_DIR": str(env_dir),
            "NIXTOX_PACKAGE_FORMAT": spec.package_format,
            # many test suites and conftest files look for tox's names
            "TOX_ENV_NAME": spec.name,
            "TOX_ENV_DIR": str(env_dir),
        }
    )
    if bytecode is not None:
        # the store is writable for commands here: bytecode goes to .nixtox/pycache (seeded with the
        # env's own pycs), never next to the env's sources, whose store path it would corrupt
        result["PYTHONPYCACHEPREFIX"] = str(bytecode)
    if hash_seed is not None:
        result["PYTHONHASHSEED"] = hash_seed
    result.update(dict(spec.config.set_env))
    return result
