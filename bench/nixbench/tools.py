"""The tools under test: how to call each one, where its caches live, how to make it cold.

Every tool gets its own copy of each project and its own cache dir (``PIP_CACHE_DIR``, ``UV_CACHE_DIR``,
virtualenv's app-data, ``XDG_CACHE_HOME``), so one tool's state never warms another's. The Nix store is
the exception by nature: it is shared, and :mod:`nixbench.nixstore` empties the relevant part of it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixbench import nixstore

__all__ = ["Tool", "command_seconds_from_result_json", "make_tools", "tool_environ"]

#: what a cold reset keeps of a tool's cache dir: nixtox's records of the host interpreters it copied
#: into the store (the copies stay too, as the host interpreters stay for every tool)
_KEPT = ("xdg/nixtox/imported-interpreters",)


def _empty_keeping(cache_dir: Path, kept: Sequence[str]) -> None:
    """Empty ``cache_dir`` but for the ``kept`` subdirectories."""
    aside = cache_dir.with_name(cache_dir.name + ".kept")
    shutil.rmtree(aside, ignore_errors=True)
    for rel in kept:
        if (cache_dir / rel).is_dir():
            (aside / rel).parent.mkdir(parents=True, exist_ok=True)
            (cache_dir / rel).rename(aside / rel)
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    for rel in kept:
        if (aside / rel).is_dir():
            (cache_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (aside / rel).rename(cache_dir / rel)
    shutil.rmtree(aside, ignore_errors=True)


NOOP_COMMAND = ("python", "-c", "pass")


def tool_environ(
    cache_dir: Path, path_prefix: Sequence[Path], base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment every tool run gets: private caches, host interpreters on PATH, no downloads."""
    env = dict(os.environ if base is None else base)
    for var in (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "TOX_ENV",
        "NIXTOX_ENV",
        "TOX_SKIP_ENV",
        "PIP_REQUIRE_VIRTUALENV",
    ):
        env.pop(var, None)
    env.update(
        {
            "PIP_CACHE_DIR": str(cache_dir / "pip"),
            "UV_CACHE_DIR": str(cache_dir / "uv"),
            "VIRTUALENV_OVERRIDE_APP_DATA": str(cache_dir / "virtualenv"),
            "XDG_CACHE_HOME": str(cache_dir / "xdg"),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "PY_COLORS": "0",
            "NO_COLOR": "1",
            "PATH": os.pathsep.join([*map(str, path_prefix), env.get("PATH", "/usr/bin:/bin")]),
        }
    )
    return env


def command_seconds_from_result_json(data: dict[str, Any]) -> float | None:
    """Sum of test-command times over the envs of a tox/nixtox ``--result-json``, packaging envs excluded."""
    envs = data.get("testenvs")
    if not isinstance(envs, dict):
        return None
    total = 0.0
    for name, env in envs.items():
        if name.startswith(".") or not isinstance(env, dict):
            continue
        for command in env.get("test") or []:
            total += float(command.get("elapsed", 0.0))
    return total


@dataclass
class Tool:
    """One tool (or one cold variant of nixtox) as the harness drives it."""

    name: str
    kind: str  # tox | nox | nixtox
    executable: Path
    #: extra dirs first on PATH (the tool's venv bin, for uv next to nox)
    path_prefix: tuple[Path, ...] = ()
    #: nixtox only: which cold level (empty-store | wheels-in-store)
    cold_level: str = ""
    version: str = ""
    supports_parallel: bool = True
    notes: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------- invocation

    def argv(
        self,
        envs: Sequence[str],
        *,
        result_json: Path,
        parallel: bool = False,
        posargs: Sequence[str] = (),
    ) -> list[str]:
        if self.kind == "tox":
            argv = [str(self.executable), "-c", "tox.ini"]
            argv += ["run-parallel", "-p", "auto"] if parallel else ["run"]
            argv += ["-e", ",".join(envs), "--result-json", str(result_json)]
        elif self.kind == "nox":
            if parallel:
                raise ValueError("nox has no parallel mode")
            argv = [str(self.executable), "-f", "noxfile.py", "--reuse-venv=yes", "--no-color", "-s", *envs]
        elif self.kind == "nixtox":
            argv = [
                str(self.executable),
                "run",
                "--root",
                ".",
                "-e",
                ",".join(envs),
                "--result-json",
                str(result_json),
            ]
            if parallel:
                argv += ["-p", "auto"]
        else:  # pragma: no cover - make_tools only builds the three kinds
            raise ValueError(self.kind)
        if posargs:
            argv += ["--", *posargs]
        return argv

    def state_dirs(self) -> tuple[str, ...]:
        return {"tox": (".tox",), "nox": (".nox",), "nixtox": (".nixtox",)}[self.kind]

    # ----------------------------------------------------------------- cold

    def reset_cold(
        self, project: Path, cache_dir: Path, prime: Callable[[], bool], envs: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Bring the tool to "nothing cached"; returns what was done (kept in the raw sample)."""
        _empty_keeping(cache_dir, _KEPT)
        info: dict[str, Any] = {}
        if self.kind == "nixtox":
            info.update(self._reset_nixtox(project, cache_dir, prime, envs))
        for name in self.state_dirs():
            shutil.rmtree(project / name, ignore_errors=True)
        return info

    def _reset_nixtox(
        self, project: Path, cache_dir: Path, prime: Callable[[], bool], envs: Sequence[str]
    ) -> dict[str, Any]:
        """Untimed runs where needed, then the store deletions of this variant's cold level.

        Without a GC root for every selected env the harness cannot tell which store paths the envs
        use (an earlier run may have left them all in the store), so an untimed run comes first.
        ``wheels-in-store`` also needs the downloads present, which the other variant deletes; an env
        still in the store would not fetch them again, so its built outputs go first and the untimed
        run rebuilds it from fresh downloads.
        """
        empty = self.cold_level == "empty-store"
        info: dict[str, Any] = {}
        for _ in range(2):
            ready = nixstore.roots_cover(project / ".nixtox", envs)
            if ready and (empty or nixstore.fetched_present(project)):
                break
            if ready:
                nixstore.reset_nixtox(project, empty_store=False)
            info["primed"] = prime()
            _empty_keeping(cache_dir, _KEPT)
        reset = nixstore.reset_nixtox(project, empty_store=empty)
        info.update(
            deleted=reset.deleted,
            kept_alive=reset.kept_alive,
            kept_alive_names=list(reset.kept_alive_names),
            kept_alive_outputs=reset.kept_alive_outputs,
            fetched_missing=reset.missing_fetched,
        )
        return info

    # ----------------------------------------------------------------- timings

    def command_seconds(self, result_json: Path, times_file: Path) -> float | None:
        if self.kind == "nox":
            if not times_file.exists():
                return None
            lines = times_file.read_text(encoding="utf-8").splitlines()
            return sum(json.loads(line)["seconds"] for line in lines if line.strip())
        if not result_json.exists():
            return None
        try:
            data = json.loads(result_json.read_text(encoding="utf-8"))
        except ValueError:
            return None
        return command_seconds_from_result_json(data)


def make_tools(peer_bins: dict[str, Path], nixtox: Path, *, nixtox_parallel: bool) -> list[Tool]:
    """The rows of every table, in sample order: nixtox first, the peers after it."""
    return [
        Tool("nixtox", "nixtox", nixtox, cold_level="empty-store", supports_parallel=nixtox_parallel),
        Tool(
            "nixtox (wheels in store)",
            "nixtox",
            nixtox,
            cold_level="wheels-in-store",
            supports_parallel=nixtox_parallel,
        ),
        Tool("tox", "tox", peer_bins["tox"] / "tox", path_prefix=(peer_bins["tox"],)),
        Tool("tox-uv", "tox", peer_bins["tox-uv"] / "tox", path_prefix=(peer_bins["tox-uv"],)),
        Tool(
            "nox", "nox", peer_bins["nox"] / "nox", path_prefix=(peer_bins["nox"],), supports_parallel=False
        ),
    ]
