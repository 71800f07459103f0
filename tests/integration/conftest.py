"""Helpers for integration tests that call the real Nix: build expressions, pinned wheels, interpreters.

Everything here is reusable by any integration test:

* ``nix_build(expr, attr)`` / ``nix_build_all(expr, attrs)`` / ``nix_build_outcome(...)``: run
  ``nix-build`` with the options nixtox itself passes (``nix_options_argv``), on a ``.nix`` file or on
  expression text.
* ``host_python("3.12")``: the interpreter attrset the Nix library takes (``executable``, ``version``,
  ``fingerprint``), for a pyenv interpreter of this machine; ``python_nix(...)`` renders it.
* ``PINNED_WHEELS`` and ``pins_nix(...)``: real PyPI wheels (URL + sha256) for pytest and the three build
  backends of the fixture projects, rendered as ``fetchDist`` calls.
* the ``nix_required`` fixture: skips when nix-build is missing (in CI it is present, so the tests run).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from nixtox.nix import NixOptions, nix_options_argv

REPO_ROOT = Path(__file__).resolve().parents[2]
NIX_LIBRARY = REPO_ROOT / "nix"
FIXTURE_PROJECTS = REPO_ROOT / "tests" / "fixtures" / "projects"
PYENV_VERSIONS = Path("/root/.pyenv/versions")

# name -> (url, sha256); pure-Python wheels that install on CPython 3.8-3.13.
PINNED_WHEELS: dict[str, tuple[str, str]] = {
    "editables": (
        "https://files.pythonhosted.org/packages/cc/0e/d095533037fc9468f947b19f2da53f869804632b508808de41e86e801797/editables-0.6-py3-none-any.whl",
        "d70e4698078a1d033e7786d9c64e5be070d058a67c21417024d38a58ac20aa43",
    ),
    "flit-core": (
        "https://files.pythonhosted.org/packages/d9/f0/e546c28b937f094b354ca29b9060c5f1dd5043a332b2905049a51420b7a2/flit_core-4.2.0-py3-none-any.whl",
        "2bee22dc8ba89c2e35b4e1ad575e596aac945c85672dd8f3cad21b629036e044",
    ),
    "hatchling": (
        "https://files.pythonhosted.org/packages/32/64/4afe5dd77b2939a93e8c9513f8082dbd049ecba9c1484a379a0f6ae29d6b/hatchling-1.33.0-py3-none-any.whl",
        "415290b84f464d2884303fca8974d38e7b85579069fab02a15db0828fbb1446d",
    ),
    "iniconfig": (
        "https://files.pythonhosted.org/packages/56/43/4ca9e49d27a1fcf6bece6f6aec0ea46bb9112489b93d4b688fb415457bdb/iniconfig-2.3.1-py3-none-any.whl",
        "9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7",
    ),
    "packaging": (
        "https://files.pythonhosted.org/packages/63/34/ba1c580383c9eada3711951fef0795c80b829a078d72188184bcab9dd527/packaging-26.3-py3-none-any.whl",
        "d7193f7c8e4e93f444fde0262bf90af30e16fa0ad0ad44cb553c87339b23cd1c",
    ),
    "pathspec": (
        "https://files.pythonhosted.org/packages/f1/d9/7fb5aa316bc299258e68c73ba3bddbc499654a07f151cba08f6153988714/pathspec-1.1.1-py3-none-any.whl",
        "a00ce642f577bf7f473932318056212bc4f8bfdf53128c78bbd5af0b9b20b189",
    ),
    "pluggy": (
        "https://files.pythonhosted.org/packages/40/9e/2b38731e0fc536806f16490e1a12d7f0dc2a1235aa8cc07bcc75416a7daa/pluggy-1.7.0-py3-none-any.whl",
        "7dd7b0d8832ba3cb632c306926ded123429211b83641b35dc5c41ad2d34f9bec",
    ),
    "pygments": (
        "https://files.pythonhosted.org/packages/71/46/17f022dd3e953bf20a04a028a21ec746d942f8d2af30fa0f124fa0e6a684/pygments-2.21.0-py3-none-any.whl",
        "2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9",
    ),
    "pytest": (
        "https://files.pythonhosted.org/packages/51/39/1f5d8c8877a0fa327db959c19341d4be61660de1ab6b7391f9eb805bcd67/pytest-9.2.0-py3-none-any.whl",
        "07acdcf88ec174f907dc01af70bf52d49b014bbab03faeeade31c96b18c2e588",
    ),
    "setuptools": (
        "https://files.pythonhosted.org/packages/ef/55/6dc6d6bb953bdfc52519a0059592c52b6e3b8ad51cf8256dffceb55b0610/setuptools-84.2.1-py3-none-any.whl",
        "ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2",
    ),
    "tomlkit": (
        "https://files.pythonhosted.org/packages/da/46/7d84138a60a8bd796825b2d38ebe92d0d16501ca57d501b7c5d677401bbc/tomlkit-0.15.2-py3-none-any.whl",
        "05562412163a3037b94497385fb7f9204c637bc605af7a48199e41cf2272f437",
    ),
    "trove-classifiers": (
        "https://files.pythonhosted.org/packages/30/81/0da8afb52a71d0a4f2bd3152357b1a441e393b286374802b9d3addab4ab5/trove_classifiers-2026.9.21.13-py3-none-any.whl",
        "8b1ff4f9c191b1040b71c37f1e445ab99732911e3cd91de52838453a854d7a17",
    ),
}

# what each fixture project's build needs (hatchling's editable build also needs `editables`)
PYTEST_WHEELS = ("pytest", "iniconfig", "packaging", "pluggy", "pygments")
HATCHLING_WHEELS = ("hatchling", "packaging", "pathspec", "pluggy", "trove-classifiers", "tomlkit")


@dataclass(frozen=True)
class NixBuildOutcome:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def paths(self) -> list[Path]:
        return [Path(line) for line in self.stdout.split()]


def nix_argv(program: str) -> list[str]:
    return [program, *nix_options_argv(NixOptions())]


def _nix_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NIX_PATH"] = ""
    return env


def expression_file(expr: str | Path, directory: Path | None = None) -> Path:
    """A ``.nix`` file holding ``expr`` (returned as is when it already is a file)."""
    if isinstance(expr, Path):
        return expr
    digest = hashlib.sha256(expr.encode()).hexdigest()[:16]
    base = directory or Path(os.environ.get("TMPDIR", "/tmp")) / "nixtox-test-exprs"
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"expr-{digest}.nix"
    path.write_text(expr, encoding="utf-8")
    return path


def nix_build_outcome(
    expr: str | Path, attrs: Sequence[str] = (), *, extra: Sequence[str] = (), timeout: float = 900
) -> NixBuildOutcome:
    """Run ``nix-build --no-out-link`` on ``expr`` for ``attrs``; never raises on a failed build."""
    argv = [*nix_argv("nix-build"), str(expression_file(expr)), "--no-out-link", *extra]
    for attr in attrs:
        argv += ["-A", attr]
    proc = subprocess.run(argv, capture_output=True, text=True, env=_nix_env(), timeout=timeout, check=False)
    return NixBuildOutcome(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def nix_build_all(expr: str | Path, attrs: Sequence[str], *, extra: Sequence[str] = ()) -> list[Path]:
    """Build ``attrs`` in one nix-build call; fail the test with the log's tail when it fails."""
    outcome = nix_build_outcome(expr, attrs, extra=extra)
    if not outcome.ok:
        tail = "\n".join(outcome.stderr.splitlines()[-60:])
        pytest.fail(f"nix-build {' '.join(attrs)} failed (exit {outcome.exit_code}):\n{tail}", pytrace=False)
    return outcome.paths


def nix_build(expr: str | Path, attr: str = "") -> Path:
    """Build one attribute (or the whole expression when ``attr`` is empty) and return its store path."""
    paths = nix_build_all(expr, [attr] if attr else [])
    assert len(paths) == 1, paths
    return paths[0]


def nix_eval_json(expr: str | Path, attr: str = "") -> object:
    """``nix-instantiate --eval --strict --json`` of ``expr`` (or one of its attributes)."""
    argv = [*nix_argv("nix-instantiate"), "--eval", "--strict", "--json", str(expression_file(expr))]
    if attr:
        argv += ["-A", attr]
    proc = subprocess.run(argv, capture_output=True, text=True, env=_nix_env(), check=False)
    if proc.returncode != 0:
        pytest.fail(f"nix-instantiate --eval failed:\n{proc.stderr}", pytrace=False)
    return json.loads(proc.stdout)


def nix_string(value: str) -> str:
    """A Nix string literal."""
    return json.dumps(value, ensure_ascii=False).replace("${", "\\${")


def host_python(version: str) -> dict[str, str]:
    """The Nix library's interpreter attrset for pyenv's CPython ``version`` ("3.12"); skips if absent."""
    candidates = sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}"))
    if not candidates:
        pytest.skip(f"no CPython {version} under {PYENV_VERSIONS}")
    executable = candidates[-1]
    full_version = executable.parents[1].name
    binary = hashlib.sha256(executable.resolve().read_bytes()).hexdigest()
    return {"executable": str(executable), "version": full_version, "fingerprint": f"{full_version}-{binary}"}


def python_nix(python: dict[str, str]) -> str:
    return "{ " + " ".join(f"{key} = {nix_string(value)};" for key, value in sorted(python.items())) + " }"


def pins_nix(names: Iterable[str] | None = None) -> str:
    """An attrset of ``nixtox.fetchDist`` calls (needs ``nixtox`` in scope) for the pinned wheels."""
    lines = []
    for name in sorted(names if names is not None else PINNED_WHEELS):
        url, sha256 = PINNED_WHEELS[name]
        filename = url.rsplit("/", 1)[1]
        lines.append(
            f"    {nix_string(name)} = nixtox.fetchDist {{ filename = {nix_string(filename)}; "
            f"url = {nix_string(url)}; sha256 = {nix_string(sha256)}; }};"
        )
    return "{\n" + "\n".join(lines) + "\n  }"


def library_import() -> str:
    return f"import {NIX_LIBRARY} {{ }}"


def copy_fixture_project(name: str, dest_dir: Path) -> Path:
    """A writable copy of ``tests/fixtures/projects/<name>`` (builds and pytest write into a project)."""
    dest = dest_dir / name
    shutil.copytree(
        FIXTURE_PROJECTS / name,
        dest,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist"),
    )
    return dest


def pytest_configure(config: pytest.Config) -> None:
    """A suite started in the background (``cmd &`` in a script) inherits SIGINT ignored, and so would
    every nixtox it starts: Python then installs no KeyboardInterrupt handler, and the tests that press
    Ctrl-C would test nothing (or hang). Commands from a terminal get SIGINT, so the tests' do too."""
    del config
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # exec resets it to SIG_DFL in children


@pytest.fixture(scope="session")
def nix_required() -> None:
    """Skip unless nix-build and nix-instantiate are on PATH."""
    missing = [p for p in ("nix-build", "nix-instantiate") if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault-injection counts, when the fault suite ran."""
    from tests.integration import _faults

    if _faults.COUNTS["faults"]:
        terminalreporter.write_sep("-", "fault injection")
        terminalreporter.write_line(_faults.summary())
        for finding in _faults.FINDINGS:
            terminalreporter.write_line(f"  corruption: {finding}")


def read_nar(path: Path) -> bytes:
    """A binary cache's NAR file, uncompressed (nixtox pushes zstd; Nix's own default is xz)."""
    if path.suffix == ".zst":
        return subprocess.run(["zstd", "-d", "-c", "-q", str(path)], capture_output=True, check=True).stdout
    if path.suffix == ".xz":
        return lzma.decompress(path.read_bytes())
    return path.read_bytes()


def write_nar(path: Path, data: bytes) -> None:
    """``data`` compressed as ``path``'s name says, in its place."""
    if path.suffix == ".zst":
        data = subprocess.run(["zstd", "-c", "-q"], input=data, capture_output=True, check=True).stdout
    elif path.suffix == ".xz":
        data = lzma.compress(data)
    path.write_bytes(data)
