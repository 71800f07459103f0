"""The plain values that flow between pipeline stages.

``load -> expand -> select -> lock -> render -> realise -> run -> report``: every stage takes and returns
these frozen dataclasses, so each stage can be tested on its own.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nixtox.errors import InterpreterNotFound, NixtoxError

if TYPE_CHECKING:
    from nixtox.plugins import PackageFormat

__all__ = [
    "UV_LOCK_RUNNER",
    "CacheConfig",
    "Command",
    "CommandOutcome",
    "CoreConfig",
    "DistKind",
    "EnvConfig",
    "EnvRequirements",
    "EnvResult",
    "EnvSpec",
    "Envs",
    "ImportedInterpreter",
    "Interpreter",
    "LockedDist",
    "LockedEnv",
    "PackageDef",
    "Phase",
    "Project",
    "RealisedEnv",
    "RenderedEnv",
    "ResolverOptions",
    "Status",
    "spec_of",
]


class Status(str, enum.Enum):
    """How an env ended. A ``str`` so result JSON and comparisons with plain strings keep working."""

    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value


class DistKind(str, enum.Enum):
    """What a locked dist is: a wheel (installed as is), an sdist (built in Nix like the project), or a
    local project directory (built in Nix from its tree, or editable)."""

    WHEEL = "wheel"
    SDIST = "sdist"
    DIRECTORY = "directory"

    def __str__(self) -> str:
        return self.value


class Phase(str, enum.Enum):
    """The command lists of an env, in the order tox runs them."""

    #: run after the env is installed, before commands_pre; tox's result JSON lists them under setup
    EXTRA_SETUP_COMMANDS = "extra_setup_commands"
    COMMANDS_PRE = "commands_pre"
    COMMANDS = "commands"
    COMMANDS_POST = "commands_post"

    def __str__(self) -> str:
        return self.value

    @property
    def in_setup(self) -> bool:
        """tox's result JSON lists this phase's commands under ``setup``, not ``test``."""
        return self is Phase.EXTRA_SETUP_COMMANDS


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


#: tox-uv's runner that installs an env from ``uv.lock`` (``uv sync``)
UV_LOCK_RUNNER = "uv-venv-lock-runner"


@dataclass(frozen=True)
class EnvConfig:
    """The resolved settings of one environment (conditions filtered, substitutions applied).

    Every key nixtox acts on has a typed field here; ``unacted`` holds the keys nixtox accepts for tox
    compatibility without acting on them, only so ``nixtox config`` can show them.
    """

    description: str = ""
    base_python: tuple[str, ...] = ()
    #: the interpreter of an env whose name and base_python name none (it became base_python then)
    default_base_python: tuple[str, ...] = ()
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
    #: globs removed from what pass_env lets through (tox ``disallow_pass_env``)
    disallow_pass_env: tuple[str, ...] = ()
    change_dir: Path = Path()
    #: ``{posargs}`` naming existing relative paths were rewritten relative to change_dir (tox's default)
    args_are_paths: bool = True
    ignore_outcome: bool = False
    ignore_errors: bool = False
    depends: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    skip_install: bool = False
    #: tox's ``package`` value as written (``sdist``, ``wheel``, ``deps-only`` ...), after ``use_develop``.
    package: str = "wheel"
    #: the formats this env name is built with, after ``exclude_package_formats``.
    package_formats: tuple[str, ...] = ()
    exclude_package_formats: tuple[str, ...] = ()
    packagedef: str | None = None
    build_interpreter: str | None = None
    skip_missing_interpreters: bool = False
    #: tox's env runner; ``uv-venv-lock-runner`` (tox-uv) installs from ``uv.lock``.
    runner: str = ""
    #: tox's ``pylock``: a PEP 751 lock file (relative to the project root) the env installs from.
    pylock: str = ""
    #: tox-uv (lock runner): groups installed alone, without the project (``uv sync --only-group``).
    only_groups: tuple[str, ...] = ()
    #: tox-uv (lock runner): "" (true when ``dependency_groups`` is set), "true" or "false".
    no_default_groups: str = ""
    #: tox-uv (lock runner): extra ``uv sync`` flags.
    uv_sync_flags: tuple[str, ...] = ()
    #: tox-uv (lock runner): false drops ``--locked`` (a stale uv.lock is relocked, not refused).
    uv_sync_locked: bool = True
    suicide_timeout: float = 0.0
    interrupt_timeout: float = 0.3
    terminate_timeout: float = 0.2
    extra_setup_commands: tuple[Command, ...] = ()
    #: how many more times a failing command of pre/main/post runs (tox ``commands_retry``)
    commands_retry: int = 0
    #: a failure of this env starts no further env (tox's env ``fail_fast``, the CLI's ``--fail-fast``)
    fail_fast: bool = False
    #: regex that must match ``sys.platform`` as a whole, else the env is skipped ("" = any)
    platform: str = ""
    #: always rebuild this env (no fingerprint fast path), as ``-r`` does for every env
    recreate: bool = False
    #: in a parallel run, show this env's output also when it passed
    parallel_show_output: bool = False
    #: the env sees the interpreter's own site-packages (pyvenv.cfg include-system-site-packages)
    system_site_packages: bool = False
    #: allow pre-releases when resolving (pip ``--pre``, uv ``--prerelease allow``)
    pip_pre: bool = False
    #: tox-uv's resolution strategy: "" (highest), ``lowest``, ``lowest-direct``
    uv_resolution: str = ""
    #: tox applies deps as constraints to the package's dependencies; nixtox always resolves them together
    constrain_package_deps: bool = False
    use_frozen_constraints: bool = False
    unacted: Mapping[str, object] = field(default_factory=dict)

    def phases(self) -> tuple[tuple[Phase, tuple[Command, ...]], ...]:
        return (
            (Phase.EXTRA_SETUP_COMMANDS, self.extra_setup_commands),
            (Phase.COMMANDS_PRE, self.commands_pre),
            (Phase.COMMANDS, self.commands),
            (Phase.COMMANDS_POST, self.commands_post),
        )


@dataclass(frozen=True)
class EnvSpec:
    """One environment of the matrix for one package format: the unit nixtox builds and runs.

    Every fact later stages need about the env's package is decided here, once: its format (a plugin
    object), whether it installs the package at all, its packagedef and the interpreter that builds it.
    """

    name: str
    format: PackageFormat
    factors: tuple[str, ...]
    #: the interpreter request (``py312``, ``3.12``, ``pypy310``, a base_python value) or None for "any".
    python: str | None
    default: bool
    config: EnvConfig
    #: ``{env_dir}``: the env's directory under ``.nixtox/envs/`` (per format when there are several).
    env_dir: Path = Path()
    #: how many formats this env name has; a name with one format is listed by its plain name.
    format_count: int = 1
    packagedef: PackageDef | None = None
    #: the request for the interpreter that builds the package (env or packagedef ``build_interpreter``);
    #: None: the env's own.
    build_python: str | None = None

    @property
    def package_format(self) -> str:
        return self.format.name

    @property
    def installs_package(self) -> bool:
        return self.format.installs

    @property
    def label(self) -> str:
        return f"({self.package_format}) {self.name}" if self.format_count > 1 else self.name

    @property
    def key(self) -> str:
        """A file-system and Nix-attribute safe id, unique per (env, format)."""
        return self.key_for(self.name, self.package_format, self.format_count)

    @staticmethod
    def key_for(name: str, package_format: str, format_count: int) -> str:
        """ASCII letters, digits, ``-`` and ``_`` only: the key names files, GC roots and Nix attributes."""
        safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "_" for c in name)
        return f"{safe}-{package_format}" if format_count > 1 else safe


@dataclass(frozen=True)
class ImportedInterpreter:
    """A host interpreter's copy in the Nix store (``interpreters.import_interpreter``), self-contained
    but for glibc; the arguments of the Nix library's ``importedPython``."""

    #: the store name, ``cpython-3.12.1``; with ``nar_hash`` it determines ``path``
    name: str
    path: Path
    #: the copy's recursive sha256 as ``nix-store --query --hash`` prints it (``sha256:<base32>``)
    nar_hash: str
    #: the host prefix it was copied from, and the interpreter relative to it (and to ``path``)
    prefix: str
    executable: str
    executable_sha256: str
    with_tests: bool = False


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
    #: the interpreter's copy in the store, when imported: envs then run on it (a dependency Nix tracks,
    #: so remote builders and caches get it) instead of ``executable``, which stays the host path
    imported: ImportedInterpreter | None = None

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
    kind: DistKind = DistKind.WHEEL
    #: for an sdist-only dependency or a local project: the build requirements, themselves pinned.
    build_requires: tuple[LockedDist, ...] = ()
    #: a local project installed editable (``-e ../lib``)
    editable: bool = False

    @property
    def path(self) -> str:
        """A local project's directory, relative to the project root (DIRECTORY dists keep it in ``url``)."""
        return self.url


@dataclass(frozen=True)
class ResolverOptions:
    """How the resolver picks versions for an env, beyond its requirements."""

    #: allow pre-releases (tox ``pip_pre``: pip ``--pre``, uv ``--prerelease allow``)
    pre_releases: bool = False
    #: tox-uv ``uv_resolution``: ``highest`` (""), ``lowest`` or ``lowest-direct``
    resolution: str = ""

    def lock_payload(self) -> dict[str, object]:
        """What goes into the lock key: only options that are set, so unset ones keep every key."""
        payload: dict[str, object] = {}
        if self.pre_releases:
            payload["pre"] = True
        if self.resolution:
            payload["resolution"] = self.resolution
        return payload


@dataclass(frozen=True)
class EnvRequirements:
    """What an env asks the resolver for, gathered once from its config and the project."""

    requirements: tuple[str, ...]
    constraints: tuple[str, ...]
    build_requirements: tuple[str, ...]
    #: the project's distribution name when it is passed to the resolver as a local path (dropped after).
    local_project: str | None = None
    #: digest of the files the project's metadata comes from.
    project_metadata: str = ""
    #: what the local requirements are now (a file's sha256, a local project's metadata hash), as
    #: ``path=digest`` lines: a change relocks
    local_inputs: tuple[str, ...] = ()
    #: root-relative paths of local projects in ``requirements`` installed editable
    editable_paths: tuple[str, ...] = ()
    #: resolver options (tox ``pip_pre``, tox-uv ``uv_resolution``): they change what is picked
    options: ResolverOptions = field(default_factory=ResolverOptions)


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
    #: the entry's ``interpreter``: the series (``cpython-3.11-...``) the pins hold for, or the full
    #: identity when they depend on the patch release.
    lock_interpreter: str = ""


@dataclass(frozen=True)
class RenderedEnv:
    """The Nix attribute that builds one environment, and the template values of its file.

    ``fingerprint`` hashes every input of the env (template values, templates, the Nix library, the
    project source as far as the package depends on it), so the up-to-date check needs neither jinja nor
    Nix; ``nixtox.render.env_text`` renders the file from ``view`` when Nix must see it.
    """

    locked: LockedEnv
    attr: str
    fingerprint: str
    view: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def spec(self) -> EnvSpec:
        return self.locked.spec


@dataclass(frozen=True)
class RealisedEnv:
    rendered: RenderedEnv
    store_path: Path
    drv_path: str | None
    #: True when nothing was built or fetched (fingerprint matched, or Nix had it already).
    cached: bool

    @property
    def spec(self) -> EnvSpec:
        return self.rendered.locked.spec

    @property
    def locked(self) -> LockedEnv:
        return self.rendered.locked


@dataclass(frozen=True)
class CommandOutcome:
    command: Command
    phase: Phase
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
        from nixtox.run._tox import command_ok  # noqa: PLC0415 - the one definition, in the Nix library

        return command_ok(
            self.exit_code,
            ignore_exit_code=self.command.ignore_exit_code,
            invert_exit_code=self.command.invert_exit_code,
        )


@dataclass(frozen=True)
class EnvResult:
    spec: EnvSpec
    status: Status
    reason: str = ""
    realised: RealisedEnv | None = None
    commands: tuple[CommandOutcome, ...] = ()
    setup_seconds: float = 0.0
    command_seconds: float = 0.0
    exit_code: int = 0
    #: where the commands' log files are (``.nixtox/envs/<key>/log``); None: no command ran
    log_dir: Path | None = None

    @property
    def shows_parallel_output(self) -> bool:
        """tox's rule for a parallel run: an env's output is shown when it failed or its
        ``parallel_show_output`` is set (a passed or skipped env's output stays hidden otherwise)."""
        return self.status not in (Status.OK, Status.SKIP) or self.spec.config.parallel_show_output


@dataclass(frozen=True)
class CacheConfig:
    """The binary-cache keys of the core section (``[tool.nixtox.cache]`` / ``[nixtox:cache]``)."""

    substituters: tuple[str, ...] = ()
    trusted_public_keys: tuple[str, ...] = ()
    push_to: str = ""
    secret_key_file: Path | None = None


@dataclass(frozen=True)
class CoreConfig:
    """Project-wide settings (tox's ``[tox]`` / ``[tool.nixtox]`` core section)."""

    root: Path
    config_file: Path
    env_list: tuple[str, ...] = ()
    skip_missing_interpreters: bool = False
    #: ``--workdir`` (absolute); None: ``.nixtox`` at the root. Read ``work_dir``.
    given_work_dir: Path | None = None
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    packagedefs: Mapping[str, PackageDef] = field(default_factory=dict)
    #: nixpkgs for the ``nixpkgs`` interpreter provider (a path or ``<nixpkgs>``); None: NIX_PATH if set.
    nixpkgs: str | None = None
    #: provider order used to satisfy interpreter requests.
    interpreter_providers: tuple[str, ...] = ("host",)
    #: ``skip_sdist``/``no_package``: the project is not a package, every env installs only its deps.
    no_package: bool = False
    #: an env name implying another python than its base_python uses the name's python (tox semantics).
    ignore_base_python_conflict: bool = False
    #: the default of every env's ``parallel_show_output``
    parallel_show_output: bool = False
    cache: CacheConfig = field(default_factory=CacheConfig)
    #: the positional arguments ``{posargs}`` was resolved with (None: none given, defaults apply).
    posargs: tuple[str, ...] | None = None
    #: non-fatal config findings (unknown keys ...), one line each; the CLI prints them as ``warning:``.
    warnings: tuple[str, ...] = ()
    #: env names dropped because ``exclude_package_formats`` removed every package format, with the reason.
    dropped_envs: Mapping[str, str] = field(default_factory=dict)
    #: env names spelled only by factor conditions (``django: x``); their factors may form ad-hoc names.
    condition_envs: tuple[str, ...] = ()
    #: core keys accepted for tox compatibility that nixtox does not act on (shown by ``nixtox config``).
    unacted: Mapping[str, object] = field(default_factory=dict)

    @property
    def work_dir(self) -> Path:
        """nixtox's work directory (tox's ``work_dir``): state, rendered Nix files, GC roots, env dirs."""
        return self.given_work_dir or self.root / ".nixtox"


@dataclass(frozen=True)
class Project:
    """A loaded and expanded configuration: every env x format, in tox's listing order.

    ``adhoc`` expands an env name the config does not list (``-e py313-foo``) with the same resolvers
    (files already read, the same ``{env:X}`` environment), for the select stage.
    """

    core: CoreConfig
    envs: tuple[EnvSpec, ...]
    adhoc: Callable[[str], tuple[EnvSpec, ...]] = field(default=lambda _name: (), compare=False, repr=False)


Staged = TypeVar("Staged", EnvSpec, LockedEnv, RenderedEnv, RealisedEnv)
Next = TypeVar("Next", EnvSpec, LockedEnv, RenderedEnv, RealisedEnv)


def spec_of(value: EnvSpec | LockedEnv | RenderedEnv | RealisedEnv) -> EnvSpec:
    return value if isinstance(value, EnvSpec) else value.spec


@dataclass(frozen=True)
class Envs(Generic[Staged]):
    """The selected envs between two per-env stages: each still going, as the last stage's value, or
    ended with its result. ``end`` is the one place where a failure becomes an env's result."""

    project: Project
    #: every selected env, in selection order
    selected: tuple[EnvSpec, ...]
    live: tuple[Staged, ...]
    ended: Mapping[str, EnvResult] = field(default_factory=dict)
    #: setup time spent on each env so far (lock, render, build), by key
    seconds: Mapping[str, float] = field(default_factory=dict)
    #: files the render stage made that realise writes into the work dir before Nix reads the env files
    work_files: Mapping[str, str] = field(default_factory=dict)

    def map(self, step: Callable[[Staged], Next]) -> Envs[Next]:
        """``step`` each live env (timed); a NixtoxError ends that env and the others go on."""
        live: list[Next] = []
        ended = dict(self.ended)
        seconds = dict(self.seconds)
        for value in self.live:
            spec = spec_of(value)
            start = time.monotonic()
            try:
                live.append(step(value))
            except NixtoxError as exc:
                ended[spec.key] = self.end(spec, exc)
            seconds[spec.key] = seconds.get(spec.key, 0.0) + time.monotonic() - start
        return Envs(self.project, self.selected, tuple(live), ended, seconds, self.work_files)

    def collect(
        self, outcomes: Mapping[str, Next | NixtoxError], *, seconds: Mapping[str, float] | None = None
    ) -> Envs[Next]:
        """The result of a stage that handles all envs at once (one Nix call): by key, a value or the
        error that ends that env; ``seconds`` (by key) are added to the envs' setup time."""
        live: list[Next] = []
        ended = dict(self.ended)
        spent = dict(self.seconds)
        for value in self.live:
            spec = spec_of(value)
            outcome = outcomes[spec.key]
            spent[spec.key] = spent.get(spec.key, 0.0) + (seconds or {}).get(spec.key, 0.0)
            if isinstance(outcome, NixtoxError):
                ended[spec.key] = self.end(spec, outcome)
            else:
                live.append(outcome)
        return Envs(self.project, self.selected, tuple(live), ended, spent, self.work_files)

    @staticmethod
    def end(spec: EnvSpec, error: NixtoxError) -> EnvResult:
        """A missing interpreter is a skip where ``skip_missing_interpreters`` says so; any other
        failure before the commands run is an error."""
        if isinstance(error, InterpreterNotFound) and spec.config.skip_missing_interpreters:
            return EnvResult(spec=spec, status=Status.SKIP, reason=error.message)
        return EnvResult(spec=spec, status=Status.ERROR, reason=error.message, exit_code=1)

    def with_work_files(self, files: Mapping[str, str]) -> Envs[Staged]:
        return replace(self, work_files={**self.work_files, **files})
