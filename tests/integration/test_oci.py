"""The ``oci`` env kind (an in-tree plugin on the public API): a real image archive, built by Nix.

The archive is checked by skopeo (it is an OCI image) and umoci (unpacked into a root file system), and
the image's own python and entry point run from that rootfs under ``unshare``/``chroot``: the image holds
everything the env needs, with the host's interpreter directory hidden.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration._nixtox import make_project, nixtox

pytestmark = pytest.mark.nix

TOX_INI = """\
[tox]
env_list = py312

[testenv]
package = wheel
deps = pytest
set_env = GREETING = hello
commands =
    python -c "import os, flit_proj; print('greeting', os.environ['GREETING'], flit_proj.__name__)"
    pytest -q -p no:cacheprovider tests
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    missing = [tool for tool in ("skopeo", "umoci", "unshare", "chroot") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install skopeo umoci)")
    tmp = tmp_path_factory.mktemp("oci")
    root = make_project(tmp, "flit_proj", TOX_INI)
    archive = tmp / "img.tar"
    out = nixtox(root, "export", "--oci", "-e", "py312", "-o", str(archive))
    assert out.returncode == 0, out.stdout + out.stderr
    return root, archive


def _inspect(archive: Path) -> dict[str, object]:
    proc = subprocess.run(
        ["skopeo", "inspect", "--config", f"oci-archive:{archive}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def _rootfs(archive: Path, dest: Path) -> Path:
    layout = dest / "layout"
    layout.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(layout)], check=True)
    bundle = dest / "bundle"
    proc = subprocess.run(
        ["umoci", "unpack", "--image", f"{layout}:py312", str(bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return bundle / "rootfs"


def _chroot(rootfs: Path, argv: list[str], env: list[str]) -> subprocess.CompletedProcess[str]:
    """``argv`` inside the image's rootfs with the image's environment, in a private mount namespace
    where the host's interpreters are hidden: only what the image holds can serve."""
    mount = shutil.which("mount")
    script = (
        f"{mount} -t tmpfs none /root/.pyenv 2>/dev/null || true; "
        f'{mount} --rbind /dev "$1/dev"; '  # as a container runtime would
        # a runtime mounts /proc too; the loader needs it for the interpreter's $ORIGIN-relative RUNPATH
        f'{mount} --rbind /proc "$1/proc"; '
        f'exec {shutil.which("chroot")} "$@"'
    )
    environ = dict(item.split("=", 1) for item in env)
    return subprocess.run(
        [str(shutil.which("unshare")), "-m", "/bin/sh", "-c", script, "sh", str(rootfs), *argv],
        env=environ, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def test_the_archive_is_an_oci_image_with_the_env_as_entry_point(image: tuple[Path, Path]) -> None:
    _, archive = image
    config = _inspect(archive)
    entry = config["config"]["Entrypoint"]  # type: ignore[index]
    assert entry[0].startswith("/nix/store/")
    assert entry[0].endswith("-nixtox-env-py312/bin/python")
    assert config["os"] == "linux"
    assert config["architecture"] == "amd64"
    with_index = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True)
    names = set(with_index.stdout.split())
    assert {"oci-layout", "index.json", "manifest.json"} <= names  # OCI layout plus docker load's manifest


def test_the_image_runs_its_own_python_and_the_envs_commands(
    image: tuple[Path, Path], tmp_path: Path
) -> None:
    _, archive = image
    config = _inspect(archive)["config"]
    rootfs = _rootfs(archive, tmp_path)
    env = list(config["Env"])  # type: ignore[index]
    entry = list(config["Entrypoint"])  # type: ignore[index]
    probe = _chroot(rootfs, [entry[0], "-c", "import sys, ssl, pytest; print(sys.prefix)"], env)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert "-nixtox-env-py312" in probe.stdout
    ran = _chroot(rootfs, entry, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "greeting hello flit_proj" in ran.stdout
    assert "passed" in ran.stdout


def test_the_image_is_reproducible(image: tuple[Path, Path], tmp_path: Path) -> None:
    root, archive = image
    again = tmp_path / "again.tar"
    out = nixtox(root, "export", "--oci", "-e", "py312", "-o", str(again))
    assert out.returncode == 0, out.stdout + out.stderr
    assert again.read_bytes() == archive.read_bytes()
