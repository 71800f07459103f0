"""Fault injection on real runs: signals at random points, concurrent nixtox processes, a garbage
collector running during builds, and damaged lock, state, rendered files and cache entries.

After every fault the next plain run must succeed, every env path must pass ``nix-store --verify-path``
(its whole closure), no lock entry may be lost and no output may hold a traceback. The suite counts the
faults it injects, the recoveries and the corruptions it finds, and prints them in pytest's summary
(``tests/integration/_faults.py``). ``NIXTOX_FAULTS=N`` sets the number of signal faults (default 8),
``NIXTOX_FAULT_SEED`` the seed of their random points. Bounded: about two minutes on two cores.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nixtox.state import gcroot_dir
from tests.integration import _faults
from tests.integration._nixtox import FIXTURES
from tests.integration.conftest import read_nar, write_nar

pytestmark = pytest.mark.nix

SIGNAL_FAULTS = int(os.environ.get("NIXTOX_FAULTS", "8"))
SEED = int(os.environ.get("NIXTOX_FAULT_SEED", str(random.SystemRandom().randrange(10**6))))
_CLEAN = ("NIXTOX_SUBSTITUTERS", "NIXTOX_TRUSTED_PUBLIC_KEYS", "NIXTOX_PUSH_TO", "NIXTOX_SECRET_KEY_FILE")
TOX_INI = """\
[tox]
env_list = a, b

[testenv]
package_formats = wheel
base_python = python3.12
commands = python -c "import time, {module}; time.sleep({sleep})"

[testenv:a]
deps = iniconfig

[testenv:b]
deps = termcolor
"""


@dataclass(frozen=True)
class Project:
    root: Path
    module: str
    envs: tuple[str, ...] = ("a", "b")


def _environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*_CLEAN, "NIXTOX_NIX_STORE")}
    env.update(extra or {})
    return env


def nixtox(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nixtox", *args], cwd=project.root, env=_environ(env),
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def start(project: Project, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """nixtox in a process group of its own, as a shell job (a terminal's Ctrl-C reaches the group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "nixtox", *args], cwd=project.root, env=_environ(env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def make_project(base: Path, fixture: str, sleep: float) -> Project:
    root = base / fixture
    shutil.copytree(FIXTURES / fixture, root)
    (root / "tox.ini").write_text(TOX_INI.format(module=fixture, sleep=sleep))
    return Project(root, fixture)


def touch_source(project: Project) -> None:
    """A source edit: the next run builds the project's wheel and both envs again."""
    init = project.root / "src" / project.module / "__init__.py"
    text = init.read_text().split("\n# edit ")[0]
    init.write_text(f"{text}\n# edit {time.monotonic_ns()}\n")


# --- checks after a fault ------------------------------------------------------------------------------


def _closure(paths: list[str], store: Path | None) -> list[str]:
    argv = ["nix-store", *(["--store", str(store)] if store else []), "-qR", *paths]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def verify_envs(project: Project, store: Path | None = None) -> str:
    """'' when every env's GC root resolves to a path whose whole closure verifies, else what is wrong."""
    roots = gcroot_dir(project.root / ".nixtox", str(store) if store else "")
    paths = [os.readlink(roots / env) for env in project.envs if (roots / env).is_symlink()]
    if len(paths) != len(project.envs):
        return f"{project.module}: GC roots missing ({sorted(p.name for p in roots.glob('*'))})"
    argv = [
        "nix-store",
        *(["--store", str(store)] if store else []),
        "--verify-path",
        *_closure(paths, store),
    ]
    verify = subprocess.run(argv, capture_output=True, text=True, check=False)
    return "" if verify.returncode == 0 else f"{project.module}: {verify.stderr.strip()[:300]}"


def lost_entries(project: Project) -> str:
    lock = project.root / "nixtox.lock"
    text = lock.read_text() if lock.exists() else ""
    missing = [env for env in project.envs if f"[envs.{env}]" not in text]
    return f"{project.module}: lock entries lost: {missing}" if missing else ""


_TRACEBACK = re.compile(r'Traceback \(most recent call last\):\n(?:[ \t].*\n)*?  File "[^"]*/nixtox/')


def _nixtox_traceback(output: str) -> bool:
    """A traceback through nixtox's own code (a test command's own traceback, e.g. its
    KeyboardInterrupt on Ctrl-C, is its output, not a nixtox failure)."""
    return _TRACEBACK.search(output) is not None


def recovered(
    project: Project, what: str, *, outputs: tuple[str, ...] = (), store: Path | None = None
) -> bool:
    """The checks every fault ends with; counts a recovery or a corruption (with what went wrong)."""
    findings = [f"{what}: traceback in output:\n{out[-800:]}" for out in outputs if _nixtox_traceback(out)]
    args = ("cache", "pull", "--store", str(store)) if store else ("run",)
    plain = nixtox(project, *args)
    if plain.returncode != 0 or _nixtox_traceback(plain.stdout + plain.stderr):
        findings.append(
            f"{what}: the next plain run failed ({plain.returncode}):\n{(plain.stdout + plain.stderr)[-1500:]}"
        )
    else:
        findings += [f for f in (verify_envs(project, store), lost_entries(project)) if f]
    if findings:
        _faults.COUNTS["corruptions"] += 1
        _faults.FINDINGS.extend(findings)
        return False
    _faults.COUNTS["recoveries"] += 1
    return True


def injected(kind: str) -> None:
    _faults.COUNTS["faults"] += 1
    _faults.COUNTS[f"kind:{kind}"] += 1


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def projects(base: Path) -> tuple[Project, Project]:
    """Two projects whose envs share their dependencies (the same wheel layers in the store)."""
    first = make_project(base, "setuptools_proj", 0.6)
    second = make_project(base, "flit_proj", 0.2)
    for project in (first, second):
        out = nixtox(project, "run")
        assert out.returncode == 0, out.stdout + out.stderr
    return first, second


@pytest.fixture(scope="module")
def signing_key(base: Path, projects: tuple[Project, Project]) -> Path:
    keys = base / "keys"
    done = nixtox(projects[0], "cache", "keygen", "faults-1", "--dir", str(keys))
    assert done.returncode == 0, done.stderr
    return keys / "faults-1.sec"


@pytest.fixture(scope="module", autouse=True)
def _no_corruptions() -> Iterator[None]:
    yield
    print(_faults.summary())


# --- signals -------------------------------------------------------------------------------------------

#: (phase, how the run is set up to reach it soon after it starts)
PHASES = ("lock", "build", "run", "push")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def _prepare(project: Project, phase: str, key: Path, cache: Path) -> tuple[list[str], dict[str, str]]:
    if phase == "lock":
        (project.root / "nixtox.lock").unlink(missing_ok=True)
        touch_source(project)
    elif phase in ("build", "push"):
        touch_source(project)
    if phase == "push":
        env = {"NIXTOX_PUSH_TO": f"file://{cache}", "NIXTOX_SECRET_KEY_FILE": str(key)}
        return ["run", "--push"], env
    return ["run"], {}


def test_signals_at_random_points(projects: tuple[Project, Project], signing_key: Path, base: Path) -> None:
    rng = random.Random(SEED)
    project = projects[0]
    failures = []
    for _ in range(SIGNAL_FAULTS):
        phase, sig = rng.choice(PHASES), rng.choice(SIGNALS)
        args, env = _prepare(project, phase, signing_key, base / "cache")
        proc = start(project, *args, env=env)
        time.sleep(rng.uniform(0.3, 3.0))
        group = sig != signal.SIGTERM or rng.random() < 0.5  # SIGTERM: to nixtox alone, or the group
        send = os.killpg if group else os.kill
        with contextlib.suppress(ProcessLookupError):  # it had finished already: still a run to check
            send(proc.pid, sig)
        out = proc.communicate(timeout=120)[0]
        kind = f"{sig.name}@{phase}"
        injected(kind)
        if not recovered(project, f"{kind} (seed {SEED})", outputs=(out,)):
            failures.append(kind)
    assert not failures, "\n".join(_faults.FINDINGS)


# --- concurrency ---------------------------------------------------------------------------------------


def test_concurrent_processes_on_one_project(projects: tuple[Project, Project]) -> None:
    project = projects[0]
    for round_args in (
        [("lock", "-e", "a"), ("lock", "-e", "b"), ("run", "-e", "a")],
        [("run",), ("run", "-e", "b"), ("run", "-e", "a"), ("lock",)],
    ):
        (project.root / "nixtox.lock").unlink()
        touch_source(project)
        procs = [start(project, *args) for args in round_args]
        outs = [proc.communicate(timeout=300)[0] for proc in procs]
        injected(f"{len(procs)} processes, one project")
        failed = [
            f"{args}: exit {p.returncode}\n{o[-600:]}"
            for args, p, o in zip(round_args, procs, outs, strict=True)
            if p.returncode
        ]
        if failed:
            _faults.FINDINGS.extend(failed)
        assert recovered(project, f"{len(procs)} concurrent processes", outputs=tuple(outs)), _faults.FINDINGS
        assert not failed, failed


def test_concurrent_processes_on_two_projects_sharing_dependencies(projects: tuple[Project, Project]) -> None:
    for project in projects:
        (project.root / "nixtox.lock").unlink()
        touch_source(project)
    procs = [start(project, "run") for project in projects for _ in range(2)]
    outs = [proc.communicate(timeout=300)[0] for proc in procs]
    injected("4 processes, two projects")
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    for project in projects:
        assert recovered(project, "two projects at once", outputs=tuple(outs)), _faults.FINDINGS


# --- a garbage collector during builds --------------------------------------------------------------


def _collect(store: Path, stop: threading.Event, runs: list[int]) -> None:
    argv = ["nix-store", "--store", str(store), "--option", "build-users-group", "", "--gc"]
    while not stop.is_set():
        subprocess.run(argv, capture_output=True, check=False)
        runs.append(1)


def test_garbage_collection_during_builds(projects: tuple[Project, Project], base: Path) -> None:
    project = projects[1]
    store = base / "gc-store"
    store.mkdir()
    stop, runs = threading.Event(), []
    collector = threading.Thread(target=_collect, args=(store, stop, runs))
    collector.start()
    try:
        outs = []
        for _ in range(2):
            touch_source(project)
            outs.append(nixtox(project, "cache", "pull", "--store", str(store)))
            injected("GC during a build")
    finally:
        stop.set()
        collector.join()
    assert len(runs) >= 2
    assert all(out.returncode == 0 for out in outs), [o.stdout + o.stderr for o in outs]
    assert recovered(project, "GC loop", outputs=tuple(o.stdout + o.stderr for o in outs), store=store)


# --- damaged files -----------------------------------------------------------------------------------


def _cut(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(len(data))] if data else b"\xff")


def _garble(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes() or b"x")
    for _ in range(3):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))


def test_damaged_lock_state_and_rendered_files(projects: tuple[Project, Project]) -> None:
    rng = random.Random(SEED + 1)
    project = projects[1]
    work = project.root / ".nixtox"
    for name, damage in [
        ("state.json", _cut), ("state.json", _garble), ("nix/a.nix", _garble), ("default.nix", _cut),
        ("source-files.nix", _garble),
    ]:  # fmt: skip
        damage(work / name, rng)
        if name != "state.json":
            touch_source(project)  # so the damaged file is needed: it must be written again
        injected(f"damaged .nixtox/{name}")
        assert recovered(project, f"damaged .nixtox/{name}"), _faults.FINDINGS
    for damage in (_cut, _garble, _cut):
        damage(project.root / "nixtox.lock", rng)
        injected("damaged nixtox.lock")
        refused = nixtox(project, "run")
        said = refused.stdout + refused.stderr
        # either the damage left a valid lock (then the run succeeds), or one error line says what to do
        assert refused.returncode == 0 or "error:" in said, said
        if refused.returncode != 0:
            assert "nixtox lock" in said, said
            assert nixtox(project, "lock").returncode == 0
        assert recovered(project, "damaged nixtox.lock", outputs=(said,)), _faults.FINDINGS


def test_damaged_cache_entries_are_never_imported(
    projects: tuple[Project, Project], signing_key: Path, base: Path
) -> None:
    project = projects[1]
    cache = base / "damaged-cache"
    public = signing_key.with_suffix(".pub").read_text().strip()
    pushed = nixtox(
        project,
        "cache",
        "push",
        env={"NIXTOX_PUSH_TO": f"file://{cache}", "NIXTOX_SECRET_KEY_FILE": str(signing_key)},
    )
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    rng = random.Random(SEED + 2)
    narinfos = sorted(p for p in cache.glob("*.narinfo") if "nixtox-env-" in p.read_text())
    for index, how in enumerate(("nar byte", "narinfo cut", "narhash edit")):
        damaged = base / f"damaged-cache-{index}"
        shutil.copytree(cache, damaged)
        victim = damaged / rng.choice(narinfos).name
        if how == "nar byte":
            nar = damaged / next(
                line.split()[1] for line in victim.read_text().splitlines() if line.startswith("URL:")
            )
            data = bytearray(read_nar(nar))
            data[len(data) // 2] ^= 0xFF
            write_nar(nar, bytes(data))
        elif how == "narinfo cut":
            _cut(victim, rng)
        else:  # a NarHash no longer matching what was signed
            lines = victim.read_text().splitlines()
            at = next(i for i, line in enumerate(lines) if line.startswith("NarHash:"))
            lines[at] = lines[at][:-1] + ("0" if lines[at][-1] != "0" else "1")
            victim.write_text("\n".join(lines) + "\n")
        store = base / f"damaged-store-{index}"
        store.mkdir()
        env = {"NIXTOX_SUBSTITUTERS": f"file://{damaged}", "NIXTOX_TRUSTED_PUBLIC_KEYS": public}
        pull = nixtox(project, "cache", "pull", "--store", str(store), env=env)
        injected(f"cache: {how}")
        said = pull.stdout + pull.stderr
        assert not _nixtox_traceback(said), said
        # whatever the pull imported is intact (Nix checked it, or nixtox refused it): the checks of
        # recovered() verify every path of the envs in that store
        assert recovered(project, f"cache {how}", outputs=(said,), store=store), _faults.FINDINGS
