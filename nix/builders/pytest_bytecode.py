"""Builder of ``pytestBytecode``: pytest's assertion-rewritten bytecode for the pytest plugins of a set of
layers, made once so that no test run rewrites them.

pytest rewrites the asserts of every module of a distribution that declares a ``pytest11`` entry point
(all of hypothesis, anyio, pytest-asyncio ...) and keeps the result where Python keeps bytecode,
``__pycache__/<module>.<cache tag>-pytest-<version>.pyc``. An env's files are read-only, so a test run
could never keep it there and would rewrite those modules on every run (0.5 s for hypothesis). This
builder writes those files for the plugin layers among ``layersJson``, as pytest writes them (its own
``_rewrite_test`` and ``_write_pyc_fp``, checked by pytest against the source on every read), under
``$out/site-packages`` in the layers' layout; ``mkEnv`` links them beside the layers' own bytecode.

Inputs: ``layersJson`` (``installLayer`` outputs: pytest's own layer and its requirements among them, as
they are importable here), ``out``. Layers without pytest, or without plugins: an empty
``site-packages``. A pytest whose internals differ (these are not its API): nothing written, a note in
the log; test runs then rewrite as they would without this builder.
"""

# Derivation attributes reach a builder as camelCase environment variables (SIM112); pytest is
# imported late, from the layers put on sys.path (PLC0415).
# ruff: noqa: SIM112, PLC0415

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common

if TYPE_CHECKING:  # annotations only: subscripting collections.abc.Callable or tuple needs 3.9
    from collections.abc import Callable

    Job = tuple[str, str]  # (source, pyc)


def _entry_point_groups(path: str) -> set[str]:
    groups = set()
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                groups.add(line[1:-1].strip())
    return groups


def plugin_dists(site: str) -> list[str]:
    """The ``.dist-info`` directories under ``site`` that declare a ``pytest11`` entry point."""
    found = []
    for name in sorted(os.listdir(site)) if os.path.isdir(site) else ():
        entry_points = os.path.join(site, name, "entry_points.txt")
        is_plugin = os.path.isfile(entry_points) and "pytest11" in _entry_point_groups(entry_points)
        if name.endswith(".dist-info") and is_plugin:
            found.append(os.path.join(site, name))
    return found


def _record_files(dist_info: str) -> list[str]:
    record = os.path.join(dist_info, "RECORD")
    if not os.path.isfile(record):
        return []
    with open(record, encoding="utf-8") as handle:
        return [line.split(",", 1)[0] for line in handle if line.strip()]


def rewritable_modules(files: list[str]) -> list[str]:
    """The module names pytest marks for rewriting in a plugin distribution with ``files`` (its RECORD):
    what ``_pytest.config._iter_rewritable_modules`` yields, top-level modules and packages, with the
    first path component dropped where none is found at the top (src-layout eggs)."""
    names = []
    for fn in files:
        if "/" not in fn and fn.endswith(".py"):
            module = fn[:-3]
            if module != "setup" and not module.startswith("__editable__"):
                names.append(module)
        elif fn.count("/") == 1 and fn.endswith("__init__.py"):
            names.append(os.path.dirname(fn))
    if not names:
        stripped = ["/".join(fn.split("/")[1:]) for fn in files]
        stripped = [fn for fn in stripped if fn]
        if stripped and stripped != files:
            return rewritable_modules(stripped)
    return sorted(set(names))


def module_files(site: str, name: str) -> list[str]:
    """The source files of module or package ``name`` under ``site``, relative to it."""
    base = os.path.join(site, *name.split("."))
    if os.path.isfile(base + ".py"):
        return [os.path.relpath(base + ".py", site)]
    found = []
    for root, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.relpath(os.path.join(root, f), site) for f in sorted(files) if f.endswith(".py")]
    return found


def write_rewritten(import_sites: list[str], plugin_sites: list[str], target_site: str) -> int:
    """pytest's rewritten bytecode for the plugins under ``plugin_sites``, with pytest imported from
    ``import_sites``, written under ``target_site`` in the same layout. Returns how many files."""
    plugins = [(site, dist) for site in plugin_sites for dist in plugin_dists(site)]
    if not plugins:
        return 0
    sys.path[:0] = import_sites
    try:
        from _pytest.assertion import rewrite
    except ImportError as error:  # no pytest here: nothing to rewrite for
        _common.log(f"no pytest to rewrite plugins with ({error})")
        return 0
    rewrite_test, write_pyc_fp, tail = rewrite._rewrite_test, rewrite._write_pyc_fp, rewrite.PYC_TAIL
    jobs = []
    for site, dist in plugins:
        for name in rewritable_modules(_record_files(dist)):
            for relative in module_files(site, name):
                head, filename = os.path.split(relative)
                pyc = os.path.join(target_site, head, "__pycache__", filename[:-3] + tail)
                # the source's store path: tracebacks name a file that exists, with this content
                jobs.append((os.path.join(site, relative), pyc))

    def rewrite_all(share: list[Job]) -> int:
        written = 0
        for source, pyc in share:
            try:
                stamp, code = rewrite_test(Path(source), None)
            except SyntaxError:  # pytest fails on it too, at import, as it would without us
                continue
            os.makedirs(os.path.dirname(pyc), exist_ok=True)
            with open(pyc, "wb") as handle:
                write_pyc_fp(handle, stamp, code)
            written += 1
        return written

    return _in_parallel(rewrite_all, jobs)


def _in_parallel(work: Callable[[list[Job]], int], jobs: list[Job]) -> int:
    """``work`` over ``jobs`` split across the build's cores (``NIX_BUILD_CORES``, at least 8 jobs a
    share): forked children write their shares' files, the parent its own. Returns ``work``'s total."""
    cores = int(os.environ.get("NIX_BUILD_CORES") or 0) or os.cpu_count() or 1
    count = max(min(cores, len(jobs) // 8), 1)
    shares = [jobs[i::count] for i in range(count)]
    children = []
    for share in shares[1:]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its share, its count through the pipe, then out without cleanup
            os.close(read)
            code = 1
            try:
                os.write(write, str(work(share)).encode())
                code = 0
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(write)
        children.append((pid, read))
    written = work(shares[0])
    for pid, read in children:
        with os.fdopen(read, "rb") as handle:
            said = handle.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise _common.BuilderError(f"rewriting pytest's plugins failed in a worker (status {status})")
        written += int(said)
    return written


def main() -> None:
    _common.prepare()
    out = os.environ["out"]
    sites = [os.path.join(layer, "site-packages") for layer in json.loads(os.environ["layersJson"])]
    target = os.path.join(out, "site-packages")
    os.makedirs(target)
    try:
        written = write_rewritten(sites, sites, target)
    except (AttributeError, TypeError) as error:  # another pytest's internals: test runs rewrite
        _common.log(f"pytest's rewriting internals differ here ({error}); nothing written")
        shutil.rmtree(target)
        os.makedirs(target)
        written = 0
    _common.log(f"{written} plugin modules rewritten")


if __name__ == "__main__":
    _common.run_main(main, "pytestBytecode")
