"""Other machines for Nix remote builds, simulated on this one: ``with start_machines(2, tmp) as machines``.

Each machine is a private mount, UTS and PID namespace running Debian's ``sshd`` on 127.0.0.1:

* an empty directory bound over ``/nix``: a fresh store of its own (the Nix binaries come from /usr/bin,
  so they still work), inspectable from the test as the chroot store ``--store <machine.root>``;
* a tmpfs over HOME (so over ``/root/.pyenv``: the host interpreters are not there; and no shell rc file
  that writes to a non-interactive ssh session) and over ``/run`` (sshd's privilege separation dir,
  without touching the host's ``/run``);
* its name as hostname (``builder-1`` ...): a derivation can name the machine it ran on;
* sshd with its own port, host key and authorized client key (generated per call), public key only;
  its sessions get ``NIX_CONF_DIR`` (``SetEnv``) pointing at a ``nix.conf`` with the options nixtox
  passes per call (no build users, no sandbox, no substituters), because the remote side of
  ``ssh-ng://`` is ``nix-daemon --stdio``, which reads its settings from its own config.

Use ``machines.builders`` (``--builders`` value, every machine through the Host aliases of one ssh
config) with ``machines.env`` (``NIX_SSHOPTS=-F <config>``), or ``machine.direct_builders`` /
``machine.direct_env`` for the ``ssh-ng://root@127.0.0.1`` form. Teardown kills each namespace's first
process, which takes every process of the namespace with it (the PID namespace), and with it its mounts.
A machine also dies with the test process (``setpriv --pdeathsig``) and after ``lifetime`` seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

__all__ = [
    "Machine",
    "Machines",
    "machines_fixture",
    "machines_skip_reason",
    "namespace_init",
    "path_info",
    "start_machines",
]

SSHD = Path("/usr/sbin/sshd")
SYSTEM = "x86_64-linux"
#: the options nixtox passes per call (nix.py), as the remote daemon's config
REMOTE_NIX_CONF = "build-users-group =\nsandbox = false\nsubstituters =\nmax-jobs = 1\n"
_PROGRAMS = ("ssh", "ssh-keygen", "unshare", "setpriv", "timeout", "nix-daemon", "nix-store")


def machines_skip_reason() -> str | None:
    """Why remote builder machines cannot run here, or None."""
    if not SSHD.is_file():
        return f"{SSHD} not found: install openssh-server (scripts/setup.sh --test does)"
    missing = [p for p in _PROGRAMS if shutil.which(p) is None]
    if missing:
        return f"remote builder machines need {', '.join(missing)} on PATH"
    if os.geteuid() != 0:
        return "remote builder machines need root (mount namespaces, a store bound over /nix)"
    return None


@dataclass(frozen=True)
class Machine:
    """One running machine: ``name`` is its hostname and its ssh Host alias."""

    name: str
    port: int
    #: the directory bound over ``/`` for Nix: its ``nix/`` is the machine's /nix (``--store root``)
    root: Path
    client_key: Path
    known_hosts: Path
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False, compare=False)

    @property
    def direct_builders(self) -> str:
        """``--builders`` for this machine alone, without an ssh config file."""
        return f"ssh-ng://root@127.0.0.1 {SYSTEM} - 1"

    @property
    def direct_env(self) -> dict[str, str]:
        options = (
            f"-p {self.port} -i {self.client_key} -o IdentitiesOnly=yes -o BatchMode=yes"
            f" -o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes"
        )
        return {"NIX_SSHOPTS": options}

    def ssh(self, command: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``command`` on the machine (through its sshd, like Nix does)."""
        argv = ["ssh", *self.direct_env["NIX_SSHOPTS"].split(), "root@127.0.0.1", command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def store_paths(self) -> set[str]:
        """Every valid path of the machine's store."""
        return set(path_info(self.root).keys())

    def built_here(self, path: str) -> bool:
        """``path`` is valid in this machine's store and was built there (Nix's ``ultimate`` flag:
        a path copied in from elsewhere is not)."""
        info = path_info(self.root, [path]).get(path)
        return bool(info and info.get("ultimate"))

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass(frozen=True)
class Machines:
    machines: tuple[Machine, ...]
    ssh_config: Path

    def __iter__(self) -> Iterator[Machine]:
        return iter(self.machines)

    def __getitem__(self, index: int) -> Machine:
        return self.machines[index]

    def __len__(self) -> int:
        return len(self.machines)

    def builders_for(self, machines: Sequence[Machine]) -> str:
        """``--builders`` naming ``machines`` by their Host alias, one job each."""
        return " ; ".join(f"ssh-ng://{m.name} {SYSTEM} - 1 1" for m in machines)

    @property
    def builders(self) -> str:
        return self.builders_for(self.machines)

    @property
    def env(self) -> dict[str, str]:
        return {"NIX_SSHOPTS": f"-F {self.ssh_config}"}


def path_info(store: Path | str | None, paths: Sequence[str] = ()) -> dict[str, dict[str, object]]:
    """``nix path-info --json`` of ``paths`` (all when empty) in ``store`` (None: the default store);
    paths that are not valid there are left out."""
    argv = ["nix", "--extra-experimental-features", "nix-command", "path-info", "--json"]
    argv += ["--option", "build-users-group", "", "--option", "substituters", ""]
    if store is not None:
        argv += ["--store", str(store)]
    argv += list(paths) if paths else ["--all"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        pytest.fail(f"nix path-info failed: {proc.stderr}", pytrace=False)
    found = json.loads(proc.stdout or "[]")
    return {entry["path"]: entry for entry in found if entry.get("valid", True)}


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sshd_config(directory: Path, port: int, nix_conf_dir: Path) -> str:
    return "\n".join(
        [
            "ListenAddress 127.0.0.1",
            f"Port {port}",
            f"HostKey {directory / 'host_key'}",
            f"AuthorizedKeysFile {directory / 'authorized_keys'}",
            "AuthenticationMethods publickey",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            # the keys live under /tmp, which is world-writable: StrictModes would refuse them
            "StrictModes no",
            "PidFile none",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            f"SetEnv NIX_CONF_DIR={nix_conf_dir}",
            "LogLevel INFO",
            "",
        ]
    )


def _mountpoints_to_hide() -> list[Path]:
    home = Path.home()
    pyenv = Path(os.environ.get("PYENV_ROOT") or home / ".pyenv")
    hidden = [home]
    if pyenv.is_dir() and home not in pyenv.parents:
        hidden.append(pyenv)
    return hidden


def _namespace_script(name: str, directory: Path, lifetime: float) -> str:
    tmpfs = "".join(f"mount -t tmpfs -o mode=0700,size=64m tmpfs {p}\n" for p in _mountpoints_to_hide())
    return (
        "set -e\n"
        f"mount --bind {directory / 'root' / 'nix'} /nix\n"
        f"{tmpfs}"
        "mount -t tmpfs -o mode=0755,size=1m tmpfs /run\n"
        "mkdir -m 0755 /run/sshd\n"
        f"hostname {name}\n"
        f"exec timeout -s KILL {int(lifetime)} {SSHD} -D -e -f {directory / 'sshd_config'}\n"
    )


def _wait_for_banner(port: int, process: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            if conn.recv(8).startswith(b"SSH-"):
                return True
        time.sleep(0.05)
    return False


def _launch(name: str, directory: Path, client_key: Path, known_hosts: Path, lifetime: float) -> Machine:
    """Start one machine in ``directory`` (keys and config already there); retry on a taken port."""
    for _ in range(3):
        port = _free_port()
        (directory / "sshd_config").write_text(_sshd_config(directory, port, directory / "etc-nix"))
        log = directory / "sshd.log"
        argv = [
            "setpriv", "--pdeathsig", "KILL", "--",
            "unshare", "--mount", "--propagation", "private", "--uts", "--pid", "--fork",
            "--kill-child", "--mount-proc", "--",
            "sh", "-c", _namespace_script(name, directory, lifetime),
        ]  # fmt: skip
        with log.open("ab") as log_file:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        if _wait_for_banner(port, process, time.monotonic() + 20):
            return Machine(name, port, directory / "root", client_key, known_hosts, log, process)
        _stop(process)
    raise RuntimeError(f"{name}: sshd did not start; its log:\n{log.read_text(errors='replace')}")


def namespace_init(process: subprocess.Popen[bytes]) -> int | None:
    """The host PID of the namespace's first process (unshare's forked child), None once it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        return int(children[0])
    return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM to the namespace's first process (timeout, which passes it to sshd): when it exits, the
    # kernel kills every other process of the PID namespace and unshare exits; SIGKILL to unshare is the
    # fallback (--kill-child then kills the first process; unshare ignores SIGTERM while it waits)
    init = namespace_init(process)
    if init is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(init, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def _prepare(directory: Path, name: str, client_public: str) -> str:
    """Directories, nix.conf and keys of one machine; returns its public host key."""
    (directory / "root" / "nix").mkdir(parents=True)
    (directory / "etc-nix").mkdir()
    (directory / "etc-nix" / "nix.conf").write_text(REMOTE_NIX_CONF)
    (directory / "authorized_keys").write_text(client_public + "\n")
    return _keygen(directory / "host_key", name)


@contextlib.contextmanager
def start_machines(count: int, directory: Path, *, lifetime: float = 3600) -> Iterator[Machines]:
    """``count`` (1..4) machines named builder-1 ...; every one is stopped when the block ends."""
    if not 1 <= count <= 4:
        raise ValueError(f"start_machines: count must be 1..4, got {count}")
    reason = machines_skip_reason()
    if reason:
        pytest.skip(reason)
    directory.mkdir(parents=True, exist_ok=True)
    client_key = directory / "client_key"
    client_public = _keygen(client_key, "nixtox-tests")
    known_hosts = directory / "known_hosts"
    started: list[Machine] = []
    try:
        hosts = []
        for index in range(1, count + 1):
            name = f"builder-{index}"
            host_key = _prepare(directory / name, name, client_public)
            machine = _launch(name, directory / name, client_key, known_hosts, lifetime)
            started.append(machine)
            hosts.append(f"{name} {host_key}\n[127.0.0.1]:{machine.port} {host_key}\n")
        known_hosts.write_text("".join(hosts))
        ssh_config = directory / "ssh_config"
        ssh_config.write_text(_ssh_config(started, client_key, known_hosts))
        yield Machines(tuple(started), ssh_config)
    finally:
        for machine in started:
            _stop(machine.process)


def _ssh_config(machines: Sequence[Machine], client_key: Path, known_hosts: Path) -> str:
    aliases = "".join(
        f"Host {m.name}\n  HostName 127.0.0.1\n  Port {m.port}\n  HostKeyAlias {m.name}\n" for m in machines
    )
    return aliases + (
        "Host builder-*\n"
        "  User root\n"
        f"  IdentityFile {client_key}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  LogLevel ERROR\n"
    )


def machines_fixture(count: int = 2, scope: Literal["session", "module"] = "module") -> Any:
    """A fixture starting ``count`` machines: ``machines = machines_fixture(2)`` in a test module."""

    @pytest.fixture(scope=scope)
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
        with start_machines(count, tmp_path_factory.mktemp("machines")) as machines:
            yield machines

    return fixture
