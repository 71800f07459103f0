"""The plain values that flow between pipeline stages.

``load -> expand -> select -> lock -> render -> realise -> run -> report``: every stage takes and returns
these frozen dataclasses, so each stage can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Command",
    "CommandOutcome",
    "CoreConfig",
    "EnvConfig",
    "EnvResult",
    "EnvSpec",
    "Interpreter",
    "LockedDist",
    "LockedEnv",
    "PackageDef",
    "Project",
    "RealisedEnv",
    "RenderedEnv",
]

#: formats nixtox knows out of the box; plugins may add more.
BUILTIN_PACKAGE_FORMATS = ("sdist", "wheel", "editable", "skip")


@dataclass(frozen=True)
class Command:
    """One command line of ``commands``/``commands_pre``/``commands_post``.

    ``-`` before a command ignores its exit code, ``!`` inverts it (tox 4 semantics); the prefix is not part
    of ``argv``.
    """

    argv: tuple[str, ...]
    ignore_exit_code: bool = False
    invert_exit_code: bool = False

    def as_json(self) -> list[str]:
        prefix = ["-"] if self.ignore_exit_code else ["!"] if self.invert_exit_code else []
        return [*prefix, *self.argv]


@dataclass(frozen=True)
class PackageDef:
    """``[packagedef:NAME]``: a named way to build the project's package."""

    name: str
    format: str = "wheel"
    build_interpreter: str | None = None
    build_requires: tuple[str, ...] = ()
    config_settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EnvConfig:
    """The resolved settings of one environment (conditions filtered, substitutions applied)."""

    description: str = ""
    base_python: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    dependency_groups: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    commands_pre: tuple[Command, ...] = ()
    commands: tuple[Command, ...] = ()
    commands_post: tuple[Command, ...] = ()
    allowlist_externals: tuple[str, ...] = ()
    set_env: tuple[tuple[str, str], ...] = ()
    pass_env: tuple[str, ...] = ()
    change_dir: Path = Path()
    ignore_outcome: bool = False
    ignore_errors: bool = False
    depends: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    skip_install: bool = False
    package: str = "wheel"
    package_formats: tuple[str, ...] = ()
    exclude_package_formats: tuple[str, ...] = ()
    packagedef: str | None = None
    build_interpreter: str | None = None
    suicide_timeout: float = 0.0
    interrupt_timeout: float = 0.3
    terminate_timeout: float = 0.2
    #: every other declared key, resolved, by its tox 4 name (for ``nixtox config``).
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvSpec:
    """One environment of the matrix for one package format: the unit nixtox builds and runs."""

    name: str
    package_format: str
    factors: tuple[str, ...]
    #: the interpreter request (``py312``, ``3.12``, ``pypy310``, a base_python value) or None for "any".
    python: str | None
    default: bool
    config: EnvConfig
    #: how many formats this env name has; a name with one format is listed by its plain name.
    format_count: int = 1
    packagedef: PackageDef | None = None

    @property
    def label(self) -> str:
        return f"({self.package_format}) {self.name}" if self.format_count > 1 else self.name

    @property
    def key(self) -> str:
        """A file-system and Nix-attribute safe id, unique per (env, format)."""
        return self.key_for(self.name, self.package_format, self.format_count)

    @staticmethod
    def key_for(name: str, package_format: str, format_count: int) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return f"{safe}-{package_format}" if format_count > 1 else safe


@dataclass(frozen=True)
class Interpreter:
    """A concrete interpreter that satisfies a request."""

    request: str | None
    implementation: str  # "cpython" | "pypy"
    version: tuple[int, int, int]
    executable: Path
    #: sha256 over version + the binary (+ libpython): any upgrade changes it, and so every store hash.
    fingerprint: str
    provider: str = "host"  # "host" | "nixpkgs"
    #: for the nixpkgs provider: the attribute (``python312``) and the nixpkgs expression path.
    nix_attr: str | None = None
    nixpkgs: str | None = None
    free_threaded: bool = False
    #: supported wheel tags, most preferred first (``cp312-cp312-manylinux_2_17_x86_64`` ...).
    tags: tuple[str, ...] = ()
    #: PEP 508 marker environment of the interpreter (``python_full_version``, ``sys_platform`` ...).
    marker_env: tuple[tuple[str, str], ...] = ()

    @property
    def major_minor(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True)
class LockedDist:
    """One exact file of a lock (a PEP 751 ``packages`` entry narrowed to the chosen file)."""

    name: str
    version: str
    filename: str
    url: str
    sha256: str
    size: int | None = None
    #: "wheel" (install as is) or "sdist" (built in Nix like the project itself).
    kind: str = "wheel"
    #: for an sdist-only dependency: the build requirements, themselves pinned.
    build_requires: tuple[LockedDist, ...] = ()


@dataclass(frozen=True)
class LockedEnv:
    """An environment with every requirement pinned for its interpreter."""

    spec: EnvSpec
    interpreter: Interpreter
    #: runtime distributions installed into the env (deps + the project's own dependencies).
    dists: tuple[LockedDist, ...]
    #: the isolated build environment of the project's package (build-system.requires + packagedef extras).
    build_dists: tuple[LockedDist, ...] = ()
    #: the interpreter that builds the package (``build_interpreter``); None: the env's own.
    build_interpreter: Interpreter | None = None
    #: hash of (requirements, interpreter identity, index): the key of this entry in the lock file.
    lock_key: str = ""


@dataclass(frozen=True)
class RenderedEnv:
    """The Nix attribute that builds one environment."""

    locked: LockedEnv
    attr: str
    #: sha256 of every input of the env: rendered expression, lock entries, source manifest, interpreter.
    fingerprint: str


@dataclass(frozen=True)
class RealisedEnv:
    rendered: RenderedEnv
    store_path: Path
    drv_path: str | None
    #: True when nothing was built or fetched (fingerprint matched, or Nix had it already).
    cached: bool
    setup_seconds: float


@dataclass(frozen=True)
class CommandOutcome:
    command: Command
    phase: str  # "commands_pre" | "commands" | "commands_post"
    exit_code: int
    output: str
    started: float
    seconds: float
    #: the process id, for tox's ``exit 1 (...) pid=N`` line and the command's log (None: never started)
    pid: int | None = None
    #: the program as run (absolute, as tox's result JSON writes commands); None: not found or not allowed
    executable: str | None = None

    @property
    def ok(self) -> bool:
        if self.command.ignore_exit_code:
            return True
        if self.command.invert_exit_code:
            return self.exit_code != 0
        return self.exit_code == 0


@dataclass(frozen=True)
class EnvResult:
    spec: EnvSpec
    status: str  # "ok" | "fail" | "skip" | "error" | "interrupted"
    reason: str = ""
    realised: RealisedEnv | None = None
    commands: tuple[CommandOutcome, ...] = ()
    setup_seconds: float = 0.0
    command_seconds: float = 0.0
    exit_code: int = 0
    #: where the commands' log files are (``.nixtox/envs/<key>/log``); None: no command ran
    log_dir: Path | None = None


@dataclass(frozen=True)
class CoreConfig:
    """Project-wide settings (tox's ``[tox]`` / ``[tool.nixtox]`` core section)."""

    root: Path
    config_file: Path
    env_list: tuple[str, ...] = ()
    skip_missing_interpreters: bool = False
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    packagedefs: Mapping[str, PackageDef] = field(default_factory=dict)
    #: nixpkgs for the ``nixpkgs`` interpreter provider (a path or ``<nixpkgs>``); None: NIX_PATH if set.
    nixpkgs: str | None = None
    #: provider order used to satisfy interpreter requests.
    interpreter_providers: tuple[str, ...] = ("host",)
    min_version: str = ""
    requires: tuple[str, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)
    #: an env name implying another python than its base_python uses the name's python (tox semantics).
    ignore_base_python_conflict: bool = False
    #: the positional arguments ``{posargs}`` was resolved with (None: none given, defaults apply).
    posargs: tuple[str, ...] | None = None
    #: non-fatal config findings (unknown keys ...), one line each; the CLI prints them as ``warning:``.
    warnings: tuple[str, ...] = ()
    #: env names dropped because ``exclude_package_formats`` removed every format, with the reason.
    dropped_envs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    """A loaded and expanded configuration: every env x format, in tox's listing order."""

    core: CoreConfig
    envs: tuple[EnvSpec, ...]
