"""Every configuration key nixtox knows, declared once.

The declarations drive loading (type conversion, aliases, defaults), ``nixtox config``, the unknown-key
warnings and the generated reference page (``python -m nixtox.config._docs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["CORE_KEYS", "ENV_KEYS", "PACKAGEDEF_KEYS", "Key", "Kind", "Scope", "lookup"]

#: how a raw value converts: ``list`` splits on commas or newlines, ``words`` on commas and whitespace,
#: ``lines`` on newlines only (requirements).
Kind = Literal[
    "str", "bool", "int", "float", "list", "words", "lines", "commands", "dict", "path", "env_list", "labels"
]
Scope = Literal["core", "env", "packagedef"]


@dataclass(frozen=True)
class Key:
    name: str
    kind: Kind
    description: str
    #: the default as a display string for docs and ``nixtox config`` ("" = empty)
    default: str = ""
    aliases: tuple[str, ...] = ()
    #: lines may carry tox factor conditions (``py312: value``)
    conditional: bool = True
    #: False: accepted for tox compatibility, but nixtox does not act on it (yet)
    acted: bool = True
    #: True: a nixtox addition that tox does not have
    nixtox: bool = False
    #: for a key nixtox does not act on: why, said once per run when a config sets it ("" = harmless,
    #: no warning); ``nixtox.config._ignored`` knows the keys where only some values warn
    ignored: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _k(
    name: str,
    kind: Kind,
    description: str,
    default: str = "",
    *aliases: str,
    acted: bool = True,
    nixtox: bool = False,
    conditional: bool = True,
    ignored: str = "",
) -> Key:
    return Key(name, kind, description, default, aliases, conditional, acted, nixtox, ignored)


CORE_KEYS: Final[tuple[Key, ...]] = (
    _k(
        "env_list",
        "env_list",
        "environments run by default, tox factor syntax (`py3{11,12}-django`)",
        "",
        "envlist",
    ),
    _k("labels", "labels", "named groups of environments selected with `-m LABEL` (`test = py3{11,12}`)"),
    _k("base", "list", "sections the core section inherits missing keys from (`[tox] base = common`)"),
    _k(
        "skip_missing_interpreters",
        "bool",
        "skip (instead of fail) environments whose interpreter is missing",
        "false",
    ),
    _k(
        "min_version",
        "str",
        "minimum tox version (nixtox follows tox 4; nothing is provisioned)",
        "",
        "minversion",
        acted=False,
    ),
    _k(
        "requires",
        "lines",
        "tox plugins to provision; nixtox provisions none (tox, tox-uv and virtualenv need none)",
        acted=False,
        ignored="nixtox does not provision tox plugins, so these are not installed and do not run",
    ),
    _k(
        "ignore_base_python_conflict",
        "bool",
        "an env name that implies a python other than `base_python` "
        "uses the name's python instead of failing",
        "false",
        "ignore_basepython_conflict",
    ),
    _k(
        "skip_sdist",
        "bool",
        "the project is not a package: every env installs only its deps",
        "false",
        "skipsdist",
        "no_package",
    ),
    _k(
        "tox_root",
        "path",
        "the project root",
        "directory of the config file",
        "toxinidir",
        acted=False,
        ignored="nixtox's project root is the config file's directory",
    ),
    _k(
        "work_dir",
        "path",
        "working directory (nixtox uses `.nixtox`, or `--workdir DIR`; the key is read, not acted on, so a "
        "config shared with tox never points nixtox at `.tox`)",
        "{tox_root}/.nixtox",
        "toxworkdir",
        acted=False,
        ignored="nixtox's work dir is always .nixtox next to the config file",
    ),
    _k(
        "temp_dir",
        "path",
        "temporary directory",
        "{work_dir}/.tmp",
        acted=False,
        ignored="nixtox's temp dir is always .nixtox/.tmp",
    ),
    _k(
        "package_root",
        "path",
        "directory of the package to build",
        "{tox_root}",
        "setupdir",
        acted=False,
        ignored="nixtox builds the project in the config file's directory",
    ),
    _k("provision_tox_env", "str", "tox provisioning env name", ".tox", acted=False),
    _k("isolated_build", "bool", "tox 3 leftover (always isolated)", "true", acted=False),
    _k("isolated_build_env", "str", "tox 3 leftover", ".package", acted=False),
    _k("distshare", "path", "tox 3 leftover", acted=False),
    _k("args_are_paths", "bool", "tox 3 leftover (tox 4: an env key)", "true", acted=False),
    _k("venv_redirect", "bool", "tox: record an env as the project's `.venv`", acted=False),
    _k("venv_redirect_env", "str", "tox: the env `venv_redirect` records", acted=False),
    _k(
        "parallel_show_output",
        "bool",
        "default of the env key: show an env's output in a parallel run also when it passed",
        "false",
    ),
    _k(
        "nixpkgs",
        "str",
        "nixpkgs used by the `nixpkgs` interpreter provider (path or `<nixpkgs>`)",
        "NIX_PATH",
        nixtox=True,
        conditional=False,
    ),
    _k(
        "interpreter_providers",
        "words",
        "providers tried in order to find interpreters (`host`, `nixpkgs`)",
        "host",
        nixtox=True,
        conditional=False,
    ),
    _k("substituters", "list", "binary caches to pull from", nixtox=True, conditional=False),
    _k(
        "trusted_public_keys",
        "list",
        "public keys accepted for binary cache signatures",
        nixtox=True,
        conditional=False,
    ),
    _k("push_to", "str", "binary cache `nixtox cache push` writes to", nixtox=True, conditional=False),
    _k(
        "secret_key_file",
        "path",
        "signing key for pushing to the binary cache",
        nixtox=True,
        conditional=False,
    ),
)

ENV_KEYS: Final[tuple[Key, ...]] = (
    _k("description", "str", "shown by `nixtox list`", "[no description]"),
    _k("base_python", "list", "interpreter request, first one found wins", "from the env name", "basepython"),
    _k("deps", "lines", "requirements installed into the env (PEP 508, `-r file`, `-c file`)"),
    _k("extras", "list", "extras of the project installed with it"),
    _k("dependency_groups", "list", "PEP 735 dependency groups installed"),
    _k("constraints", "lines", "constraints applied when resolving `deps`"),
    _k("commands_pre", "commands", "commands run before `commands`"),
    _k("commands", "commands", "the test commands; `-` prefix ignores the exit code, `!` inverts it"),
    _k("commands_post", "commands", "commands run after `commands` (always)"),
    _k("allowlist_externals", "list", "programs outside the env that commands may run (globs)"),
    _k("set_env", "dict", "environment variables set for commands (`KEY = value` lines)", "", "setenv"),
    _k("pass_env", "list", "host environment variables passed to commands (globs)", "", "passenv"),
    _k(
        "disallow_pass_env",
        "list",
        "globs of variables not passed even where `pass_env` (or its defaults) would",
    ),
    _k("change_dir", "path", "working directory of commands", "{tox_root}", "changedir"),
    _k("ignore_outcome", "bool", "a failure of this env is reported but does not fail the run", "false"),
    _k("ignore_errors", "bool", "keep running commands after one fails", "false"),
    _k("depends", "env_list", "envs that must run before this one (factor syntax)"),
    _k("labels", "list", "labels this env belongs to (`-m LABEL`)"),
    _k("skip_install", "bool", "do not install the project (package format `skip`)", "false"),
    _k(
        "package",
        "str",
        "tox package mode: sdist, wheel, sdist-wheel, editable, editable-legacy, deps-only, skip",
        "sdist (skip without a pyproject.toml/setup.py)",
    ),
    _k("use_develop", "bool", "install the project editable (package = editable)", "false", "usedevelop"),
    _k(
        "package_formats",
        "words",
        "formats to build and test this env with; one env per format (`sdist wheel editable skip`)",
        "from `package`",
        nixtox=True,
    ),
    _k(
        "exclude_package_formats",
        "words",
        "formats removed from `package_formats`; an env left with no format is dropped",
        nixtox=True,
    ),
    _k(
        "packagedef",
        "str",
        "name of a `[packagedef:NAME]` section that says how to build the package",
        nixtox=True,
    ),
    _k("build_interpreter", "str", "interpreter that builds the package", "the env's own", nixtox=True),
    _k(
        "run_in",
        "str",
        "`host` runs commands on the host, `nix` inside a derivation (cached)",
        "host",
        nixtox=True,
        acted=False,
        ignored="run_in = nix is not implemented yet: commands run on the host",
    ),
    _k("suicide_timeout", "float", "on Ctrl-C, seconds a command may take to exit before SIGINT", "0.0"),
    _k("interrupt_timeout", "float", "seconds to wait after SIGINT before SIGTERM", "0.3"),
    _k("terminate_timeout", "float", "seconds to wait after SIGTERM before SIGKILL", "0.2"),
    _k("skip_missing_interpreters", "bool", "per-env override of the core setting", "core value"),
    _k(
        "platform",
        "str",
        "regex that must match `sys.platform` as a whole (`linux|darwin`), else the env is skipped",
    ),
    _k(
        "recreate",
        "bool",
        "always rebuild this env (no up-to-date fast path), as `-r` does for every env",
        "false",
    ),
    _k(
        "parallel_show_output",
        "bool",
        "in a parallel run, show this env's output also when it passed",
        "core value",
    ),
    _k(
        "wheel_build_env",
        "str",
        "tox packaging env for wheels (nixtox builds packages in Nix)",
        ".pkg",
        acted=False,
    ),
    _k("package_env", "str", "tox packaging env (nixtox builds packages in Nix)", ".pkg", acted=False),
    _k(
        "env_dir",
        "path",
        "env directory (nixtox: `<work dir>/envs/<env>`)",
        "",
        "envdir",
        acted=False,
        ignored="nixtox keeps each env's directory at <work dir>/envs/<env> ({env_dir} points there)",
    ),
    _k(
        "env_tmp_dir",
        "path",
        "per-env temporary directory",
        "",
        "envtmpdir",
        acted=False,
        ignored="nixtox's is <work dir>/envs/<env>/tmp ({env_tmp_dir} points there)",
    ),
    _k(
        "env_log_dir",
        "path",
        "per-env log directory",
        "",
        "envlogdir",
        acted=False,
        ignored="nixtox's is <work dir>/envs/<env>/log ({env_log_dir} points there)",
    ),
    _k(
        "system_site_packages",
        "bool",
        "the env also sees the interpreter's own site-packages (`include-system-site-packages`)",
        "false",
        "sitepackages",
    ),
    _k(
        "always_copy",
        "bool",
        "copy instead of symlink (a store path is never linked back)",
        "false",
        "alwayscopy",
        acted=False,
    ),
    _k(
        "download",
        "bool",
        "upgrade the pip/setuptools/wheel seed of the env",
        "false",
        acted=False,
        ignored="nixtox envs have no pip/setuptools/wheel seed; add what the commands need to deps",
    ),
    _k(
        "install_command",
        "commands",
        "pip install command",
        acted=False,
        ignored="nixtox installs wheels with pypa/installer inside Nix",
    ),
    _k(
        "list_dependencies_command",
        "commands",
        "pip freeze command (nixtox reports the locked distributions)",
        acted=False,
    ),
    _k("pip_pre", "bool", "allow pre-releases when resolving (part of the lock key)", "false"),
    _k(
        "constrain_package_deps",
        "bool",
        "deps constrain the package's own dependencies (nixtox: always, one resolution for both)",
        "false",
    ),
    _k(
        "use_frozen_constraints",
        "bool",
        "the resolved deps constrain the package's dependencies (nixtox: always, one resolution)",
        "false",
    ),
    _k(
        "args_are_paths",
        "bool",
        "positional arguments naming existing relative paths are rewritten relative to `change_dir`",
        "true",
    ),
    _k("fail_fast", "bool", "a failure of this env starts no further env (as `--fail-fast`)", "false"),
    _k("commands_retry", "int", "how many more times a failing command of pre/main/post runs", "0"),
    _k(
        "extra_setup_commands",
        "commands",
        "commands run after the env is built, before `commands_pre` (counted as setup)",
    ),
    _k(
        "pylock",
        "str",
        "PEP 751 `pylock.toml` (relative to the project root) the env installs its pins from; "
        "not with `deps`",
    ),
    _k(
        "runner",
        "str",
        "tox env runner; `uv-venv-lock-runner` (tox-uv) installs the pins of `uv.lock` and the project "
        "as `uv sync` does (editable by default, `skip_install` not read); `virtualenv` and "
        "`uv-venv-runner` envs resolve as usual",
        "virtualenv",
        ignored="nixtox builds every env as a virtual environment in Nix; this runner is not implemented",
    ),
    _k(
        "default_base_python",
        "list",
        "interpreter of an env whose name and base_python name none",
        "any interpreter found",
    ),
    _k(
        "base_python_file",
        "list",
        "files naming the interpreter (`.python-version`)",
        acted=False,
        ignored="not implemented yet: name the interpreter in base_python or the env name",
    ),
    _k(
        "recreate_commands",
        "commands",
        "commands run before tox removes an env it recreates",
        acted=False,
        ignored="nixtox never removes an env (each is an immutable store path), so these never run",
    ),
    _k(
        "interrupt_post_commands",
        "bool",
        "run commands_post after an interrupt",
        "false",
        acted=False,
        ignored="after an interrupt nixtox starts no further command, commands_post neither",
    ),
    _k(
        "base",
        "list",
        "sections this env inherits missing keys from, in order (replaces the default; one level)",
        "testenv (TOML: env_base.NAME, env_run_base)",
    ),
    _k(
        "uv_seed",
        "bool",
        "tox-uv: seed pip into the env",
        "false",
        acted=False,
        ignored="nixtox envs have no pip/setuptools seed; add pip to deps if the commands need it",
    ),
    _k(
        "uv_resolution",
        "str",
        "tox-uv: `highest` (default), `lowest` or `lowest-direct` versions (part of the lock key)",
    ),
    _k(
        "uv_python_preference",
        "str",
        "tox-uv: python preference (nixtox finds interpreters itself)",
        acted=False,
    ),
    _k(
        "uv_sync_flags",
        "list",
        "tox-uv lock runner: `uv sync` flags (`--extra`, `--all-extras`, `--group`, `--no-group`, "
        "`--only-group`, `--all-groups`, `--no-default-groups`, `--no-dev`, `--only-dev`, "
        "`--no-install-project`, `--no-install-package`, `--locked`, `--frozen`; flags that change "
        "nothing for a Nix-built env are accepted; others are refused)",
    ),
    _k(
        "uv_sync_locked",
        "bool",
        "tox-uv lock runner: `false` relocks a stale `uv.lock` (`uv lock`) instead of failing",
        "true",
    ),
    _k(
        "only_groups",
        "list",
        "tox-uv lock runner: install only these dependency groups, not the project (`--only-group`)",
    ),
    _k(
        "no_default_groups",
        "str",
        "tox-uv lock runner: leave out uv's default groups (`dev`)",
        "true with dependency_groups, else false",
    ),
    _k(
        "virtualenv_spec",
        "str",
        "virtualenv version to use (nixtox uses the interpreter's venv)",
        acted=False,
    ),
)

PACKAGEDEF_KEYS: Final[tuple[Key, ...]] = (
    _k(
        "format",
        "str",
        "package format this definition builds (sdist, wheel, editable)",
        "wheel",
        nixtox=True,
    ),
    _k("build_interpreter", "str", "interpreter that builds the package", "the env's own", nixtox=True),
    _k("build_requires", "lines", "requirements added to the isolated build environment", nixtox=True),
    _k("config_settings", "dict", "PEP 517 config settings (`KEY = value` lines)", nixtox=True),
)

_BY_SCOPE: Final[dict[str, tuple[Key, ...]]] = {
    "core": CORE_KEYS,
    "env": ENV_KEYS,
    "packagedef": PACKAGEDEF_KEYS,
}
_INDEX: Final[dict[tuple[str, str], Key]] = {
    (scope, name): key for scope, keys in _BY_SCOPE.items() for key in keys for name in key.names
}


def lookup(scope: Scope, name: str) -> Key | None:
    """The declaration of ``name`` (or one of its aliases) in a scope."""
    return _INDEX.get((scope, name))


def known_names(scope: Scope) -> list[str]:
    return [name for key in _BY_SCOPE[scope] for name in key.names]
