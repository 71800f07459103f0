"""Binary caches with real Nix: machine A builds and pushes, machine B (a separate store) fetches.

A uses the system store; each B is its own store directory (``NIXTOX_NIX_STORE``), so the same logical
``/nix/store/...`` paths live physically under ``<dir>/nix/store``. Caches are ``file://`` directories,
one served over ``http://127.0.0.1`` by ``python -m http.server``. Refusals: a cache signed by another
key, an unsigned cache, a cache with one NAR modified, an unreachable cache, a push without a key.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import read_nar, write_nar

pytestmark = pytest.mark.nix

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "projects" / "flit_proj"
TOX_INI = """\
[tox]
env_list = py3{11,12}

[testenv]
package = wheel
deps = pytest
commands = pytest -q -p no:cacheprovider tests
"""
_CLEAN_ENV = ("NIXTOX_SUBSTITUTERS", "NIXTOX_TRUSTED_PUBLIC_KEYS", "NIXTOX_PUSH_TO", "NIXTOX_SECRET_KEY_FILE")


def nixtox(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in (*_CLEAN_ENV, "NIXTOX_NIX_STORE")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nixtox", *args],
        cwd=root,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )


def nix_json(*args: str) -> list[dict[str, object]]:
    argv = ["nix", "--option", "experimental-features", "nix-command", "--option", "substituters", "", *args]
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    data: list[dict[str, object]] = json.loads(out)
    return data


def store_paths(root: Path, store: Path | None = None) -> dict[str, str]:
    """env -> store path as ``.nixtox/state.json`` records it for ``store`` (None: the system store)."""
    state = json.loads((root / ".nixtox" / "state.json").read_text())
    envs = state["stores"][str(store)]["envs"] if store is not None else state["envs"]
    return {key: entry["store_path"] for key, entry in envs.items()}


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".nixtox", "__pycache__"))
    return dest


@dataclass(frozen=True)
class MachineA:
    project: Path
    cache: Path
    secret: Path
    public_key: str
    other_key: str
    paths: dict[str, str]

    def b_env(self, store: Path, **extra: str) -> dict[str, str]:
        env = {
            "NIXTOX_NIX_STORE": str(store),
            "NIXTOX_SUBSTITUTERS": f"file://{self.cache}",
            "NIXTOX_TRUSTED_PUBLIC_KEYS": self.public_key,
        }
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def machine_a(tmp_path_factory: pytest.TempPathFactory) -> MachineA:
    base = tmp_path_factory.mktemp("cache")
    project = copy_project(FIXTURE, base / "a")
    (project / "tox.ini").write_text(TOX_INI)
    keys = base / "keys"
    for name in ("ci-1", "other-1"):
        done = nixtox(base, "cache", "keygen", name, "--dir", str(keys))
        assert done.returncode == 0, done.stderr
    assert "ci-1:" in done.stdout or (keys / "ci-1.pub").read_text().startswith("ci-1:")
    cache = base / "cache"
    env = {"NIXTOX_PUSH_TO": f"file://{cache}", "NIXTOX_SECRET_KEY_FILE": str(keys / "ci-1.sec")}
    done = nixtox(project, "run", "--push", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pushed" in done.stdout + done.stderr
    return MachineA(
        project, cache, keys / "ci-1.sec", (keys / "ci-1.pub").read_text().strip(),
        (keys / "other-1.pub").read_text().strip(), store_paths(project),
    )  # fmt: skip


def machine_b(a: MachineA, tmp_path: Path, name: str = "b") -> tuple[Path, Path]:
    project = copy_project(a.project, tmp_path / name)
    return project, tmp_path / f"store-{name}"


def assert_fetched_everything(a: MachineA, project: Path, store: Path, output: str) -> None:
    assert "built 0 derivations" in output, output
    assert store_paths(project, store) == a.paths
    for path in a.paths.values():
        assert (store / path.lstrip("/")).is_dir(), f"{path} is not in B's store"


def test_machine_b_fetches_everything_from_a_file_cache(machine_a: MachineA, tmp_path: Path) -> None:
    project, store = machine_b(machine_a, tmp_path)
    status = nixtox(project, "cache", "status", env=machine_a.b_env(store))
    assert status.stdout.count(": in cache") == 2, status.stdout + status.stderr
    done = nixtox(project, "run", env=machine_a.b_env(store))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fetch" in done.stdout
    assert "build nothing" in done.stdout
    assert_fetched_everything(machine_a, project, store, done.stdout + done.stderr)
    status = nixtox(project, "cache", "status", env=machine_a.b_env(store))
    assert status.stdout.count(": local") == 2, status.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_cache(machine_a: MachineA) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(machine_a.cache)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(50):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_machine_b_fetches_everything_over_http(machine_a: MachineA, http_cache: str, tmp_path: Path) -> None:
    project, store = machine_b(machine_a, tmp_path)
    done = nixtox(project, "cache", "pull", env=machine_a.b_env(store, NIXTOX_SUBSTITUTERS=http_cache))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"from {http_cache}" in done.stderr
    assert_fetched_everything(machine_a, project, store, done.stderr)


def test_pushed_runtime_closure_and_build_inputs_are_complete(machine_a: MachineA) -> None:
    for path in machine_a.paths.values():
        closure = subprocess.run(
            ["nix-store", "-qR", path], capture_output=True, text=True, check=True
        ).stdout.split()
        infos = nix_json("path-info", "--store", f"file://{machine_a.cache}", "--json", *closure)
        assert all(info.get("valid", True) for info in infos), infos
    # build-time inputs too: the wheels the envs were built from are in the cache
    wheels = [p.name for p in machine_a.cache.glob("*.narinfo") if "StorePath:" in p.read_text()]
    names = "".join((machine_a.cache / w).read_text() for w in wheels)
    assert "pytest-" in names
    assert ".whl" in names
    assert "flit_proj-wheel" in names
    verify = nixtox(machine_a.project, "cache", "verify", env={
        "NIXTOX_SUBSTITUTERS": f"file://{machine_a.cache}", "NIXTOX_TRUSTED_PUBLIC_KEYS": machine_a.public_key,
    })  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count(": OK") == 2


def _assert_nothing_unverified(store: Path, paths: dict[str, str], trusted: str) -> None:
    """Every env path in B is absent, or built there (ultimate), or signed by ``trusted``."""
    for path in paths.values():
        (info,) = nix_json("path-info", "--store", str(store), "--json", path)
        if info.get("valid") is False:
            continue
        signers = {str(sig).split(":", 1)[0] for sig in info.get("signatures", [])}  # type: ignore[attr-defined]
        assert info.get("ultimate") or trusted in signers, info


def test_cache_signed_by_untrusted_key_is_refused(machine_a: MachineA, tmp_path: Path) -> None:
    project, store = machine_b(machine_a, tmp_path)
    env = machine_a.b_env(store, NIXTOX_TRUSTED_PUBLIC_KEYS=machine_a.other_key)
    status = nixtox(project, "cache", "status", env=env)
    assert "must build" in status.stdout, status.stdout
    assert "signed by ci-1" in status.stdout
    done = nixtox(project, "cache", "pull", env=env)
    out = done.stderr
    assert "signed by ci-1, which is not trusted; trusted keys: other-1" in out, out
    assert "built locally" in out
    _assert_nothing_unverified(store, machine_a.paths, "other-1")
    verify = nixtox(project, "cache", "verify", env=env)
    assert verify.returncode == 1
    assert "not signed by a trusted key" in verify.stdout
    assert "signed by ci-1; trusted: other-1" in verify.stdout


def test_unsigned_cache_is_refused(machine_a: MachineA, tmp_path: Path) -> None:
    unsigned = tmp_path / "unsigned"
    closure = subprocess.run(
        ["nix-store", "-qR", *machine_a.paths.values()], capture_output=True, text=True, check=True
    ).stdout.split()
    subprocess.run(
        ["nix", "--option", "experimental-features", "nix-command", "copy", "--to", f"file://{unsigned}?compression=zstd", *closure],
        check=True, capture_output=True,
    )  # fmt: skip
    project, store = machine_b(machine_a, tmp_path)
    done = nixtox(
        project, "cache", "pull", env=machine_a.b_env(store, NIXTOX_SUBSTITUTERS=f"file://{unsigned}")
    )
    assert "not signed at all; trusted keys: ci-1" in done.stderr, done.stderr
    _assert_nothing_unverified(store, machine_a.paths, "ci-1")


def test_tampered_nar_is_refused_and_named(machine_a: MachineA, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered"
    shutil.copytree(machine_a.cache, tampered)
    victim = sorted(machine_a.paths.values())[0]
    narinfo = tampered / f"{Path(victim).name.split('-', 1)[0]}.narinfo"
    url = next(line.split()[1] for line in narinfo.read_text().splitlines() if line.startswith("URL:"))
    nar = tampered / url
    data = read_nar(nar)
    index = data.index(b"site-packages")
    write_nar(nar, data[:index] + b"SITE" + data[index + 4 :])
    project, store = machine_b(machine_a, tmp_path)
    done = nixtox(
        project, "cache", "pull", env=machine_a.b_env(store, NIXTOX_SUBSTITUTERS=f"file://{tampered}")
    )
    assert done.returncode != 0
    assert f"refused {victim} from file://{tampered}: its content does not match" in done.stderr, done.stderr
    (info,) = nix_json("path-info", "--store", str(store), "--json", victim)
    assert info.get("valid") is False
    verify = nixtox(project, "cache", "verify", "--cache", f"file://{tampered}", env=machine_a.b_env(store))
    assert verify.returncode == 1
    assert "tampered or corrupted" in verify.stdout
    assert victim in verify.stdout


def test_a_narinfo_edited_after_signing_is_named_not_called_unsigned(
    machine_a: MachineA, tmp_path: Path
) -> None:
    edited = tmp_path / "edited"
    shutil.copytree(machine_a.cache, edited)
    victim = sorted(machine_a.paths.values())[0]
    narinfo = edited / f"{Path(victim).name.split('-', 1)[0]}.narinfo"
    lines = narinfo.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("NarHash: sha256:"))
    last = lines[at][-1]
    lines[at] = lines[at][:-1] + ("0" if last != "0" else "1")
    narinfo.write_text("\n".join(lines) + "\n")
    project, store = machine_b(machine_a, tmp_path)
    env = machine_a.b_env(store, NIXTOX_SUBSTITUTERS=f"file://{edited}")
    verify = nixtox(project, "cache", "verify", "--cache", f"file://{edited}", env=env)
    assert verify.returncode == 1
    assert f"signature does not verify: {victim} (signed by ci-1, a trusted key" in verify.stdout, (
        verify.stdout
    )
    assert f"not signed by a trusted key: {victim}" not in verify.stdout
    pull = nixtox(project, "cache", "pull", env=env)
    assert (
        f"refused {victim} from file://{edited}: it is signed by a trusted key, but the signature"
        in pull.stderr
    ), pull.stderr


def test_unreachable_cache_builds_locally_and_says_so(machine_a: MachineA, tmp_path: Path) -> None:
    project, store = machine_b(machine_a, tmp_path)
    url = f"http://127.0.0.1:{_free_port()}"
    done = nixtox(
        project, "cache", "pull", "-e", "py312", env=machine_a.b_env(store, NIXTOX_SUBSTITUTERS=url)
    )
    assert done.returncode == 0, done.stderr
    assert f"cache {url} is unreachable" in done.stderr
    assert "building locally" in done.stderr
    assert store_paths(project, store)["py312"] == machine_a.paths["py312"]


def test_push_without_secret_key_is_a_clear_error(machine_a: MachineA, tmp_path: Path) -> None:
    done = nixtox(machine_a.project, "cache", "push", env={"NIXTOX_PUSH_TO": f"file://{tmp_path / 'c'}"})
    assert done.returncode != 0
    assert "no secret key to sign with" in done.stderr
    assert "nixtox cache keygen" in done.stderr
    assert not (tmp_path / "c").exists()
    done = nixtox(machine_a.project, "run", "--push", env={
        "NIXTOX_PUSH_TO": f"file://{tmp_path / 'c'}", "NIXTOX_SECRET_KEY_FILE": str(tmp_path / "missing.sec"),
    })  # fmt: skip
    assert done.returncode != 0
    assert "missing.sec" in done.stderr
    assert "does not exist" in done.stderr
