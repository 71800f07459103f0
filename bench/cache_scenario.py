"""Cache vs cold: realise a project's env matrix into a fresh Nix store from a binary cache, and cold.

``measure_cache_vs_cold(project_dir)`` (stdlib only, for the benchmark harness) runs, in one go:

1. lock once (``nixtox lock``) so both sides realise identical envs;
2. cold: a fresh store (``NIXTOX_NIX_STORE``), no substituters: every wheel fetched from PyPI, every
   dist and env built (``nixtox cache pull``);
3. push that store's envs, with their build inputs, to a signed ``file://`` cache;
4. warm: another fresh store realises the same envs from the cache (``nixtox cache pull``).

Returns seconds for both, the speed-up, and how many paths were fetched/built on the warm side.
Run by hand: ``python bench/cache_scenario.py PROJECT_DIR [--keep]``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NIXTOX = [sys.executable, "-m", "nixtox"]
_SUMMARY = re.compile(r"fetched (\d+) paths?.*?built (\d+) derivations?")


def _nixtox(project: Path, *args: str, env: dict[str, str]) -> tuple[float, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NIXTOX_")}
    full.update(env)
    start = time.monotonic()
    done = subprocess.run(
        [*NIXTOX, *args], cwd=project, env=full, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - start
    if done.returncode != 0:
        msg = f"nixtox {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        raise RuntimeError(msg)
    return seconds, done.stdout + done.stderr


def _copy(project_dir: Path, dest: Path) -> Path:
    shutil.copytree(
        project_dir, dest, ignore=shutil.ignore_patterns(".nixtox", ".tox", "__pycache__", ".git")
    )
    return dest


def measure_cache_vs_cold(
    project_dir: Path | str, *, workdir: Path | None = None, keep: bool = False
) -> dict:  # type: ignore[type-arg]
    """Seconds to realise ``project_dir``'s default envs into a fresh store: cold vs from a binary cache."""
    base = Path(tempfile.mkdtemp(prefix="nixtox-cache-bench-", dir=workdir))
    try:
        src = _copy(Path(project_dir), base / "src")
        lock_seconds, _ = _nixtox(src, "lock", env={})
        keys = base / "keys"
        _nixtox(base, "cache", "keygen", "bench-1", "--dir", str(keys), env={})
        public = (keys / "bench-1.pub").read_text().strip()
        cache = f"file://{base / 'cache'}"

        cold_project = _copy(src, base / "cold")
        cold_env = {"NIXTOX_NIX_STORE": str(base / "store-cold")}
        cold_seconds, _ = _nixtox(cold_project, "cache", "pull", env=cold_env)
        push_env = {**cold_env, "NIXTOX_PUSH_TO": cache, "NIXTOX_SECRET_KEY_FILE": str(keys / "bench-1.sec")}
        push_seconds, _ = _nixtox(cold_project, "cache", "push", env=push_env)

        warm_project = _copy(src, base / "warm")
        warm_env = {
            "NIXTOX_NIX_STORE": str(base / "store-warm"),
            "NIXTOX_SUBSTITUTERS": cache,
            "NIXTOX_TRUSTED_PUBLIC_KEYS": public,
        }
        warm_seconds, warm_log = _nixtox(warm_project, "cache", "pull", env=warm_env)
        found = _SUMMARY.search(warm_log)
        cold_paths = json.loads((cold_project / ".nixtox" / "state.json").read_text())["envs"]
        warm_paths = json.loads((warm_project / ".nixtox" / "state.json").read_text())["envs"]
        return {
            "envs": len(cold_paths),
            "lock_seconds": round(lock_seconds, 2),
            "cold_seconds": round(cold_seconds, 2),
            "push_seconds": round(push_seconds, 2),
            "cache_seconds": round(warm_seconds, 2),
            "speedup": round(cold_seconds / warm_seconds, 1) if warm_seconds else None,
            "fetched_paths": int(found.group(1)) if found else None,
            "built_derivations": int(found.group(2)) if found else None,
            "same_store_paths": {k: v["store_path"] for k, v in cold_paths.items()}
            == {k: v["store_path"] for k, v in warm_paths.items()},
        }
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--keep"]
    target = Path(args[0]) if args else REPO / "examples" / "demo"
    print(json.dumps(measure_cache_vs_cold(target, keep="--keep" in sys.argv), indent=2))
