"""The files an editable build writes into the live tree, recorded in the editable wheel.

``build_editable`` runs in the project's own tree, and some backends write into it there: flit_scm and
setuptools-scm write their version file (``_version.py``), which the package then imports. nixtox keeps
the editable derivation while the metadata and the version stay the same, so after a ``git clean`` the
file would be gone for good and the import fail. The files the build created or changed are therefore
recorded, with their content, in ``<name>.dist-info/nixtox-tree-files.json`` inside the wheel (and so in
every env that installs it); the run stage writes back any that are missing before commands run.

Stdlib only, Python 3.8 syntax (see ``_common``).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import zipfile

from _common import log

RECORD_NAME = "nixtox-tree-files.json"
#: never the package's own files: VCS data, tool caches and envs, build products
_SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".nixtox", ".tox", ".nox", ".venv", ".direnv", "__pycache__",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "node_modules",
    }
)  # fmt: skip
_SKIP_TOP_DIRS = frozenset({"venv", "build", "dist"})
#: a version file is small; a build that writes more than this into the tree is not writing one
_MAX_FILE_BYTES = 1 << 20
_MAX_FILES = 100

Snapshot = dict  # relative path -> (mtime_ns, size, inode)


def snapshot(root: str) -> Snapshot:
    """Every regular file under ``root`` (outside the skipped directories) with its stat identity."""
    found: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        top = os.path.samefile(dirpath, root)
        dirnames[:] = [
            d
            for d in dirnames
            if d not in _SKIP_DIRS and not d.endswith(".egg-info") and not (top and d in _SKIP_TOP_DIRS)
        ]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not os.path.islink(path):
                found[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


def record(wheel: str, root: str, before: Snapshot) -> None:
    """Add the files the build wrote under ``root`` (since ``before``) to ``wheel``'s dist-info."""
    after = snapshot(root)
    written = sorted(rel for rel, identity in after.items() if before.get(rel) != identity)
    files = []
    for rel in written:
        path = os.path.join(root, rel)
        if after[rel][1] > _MAX_FILE_BYTES or len(files) == _MAX_FILES:
            log(f"warning: the editable build wrote {rel} into the tree; too large to record")
            continue
        with open(path, "rb") as f:
            content = f.read()
        files.append(
            {
                "path": rel,
                "executable": os.access(path, os.X_OK),
                "content": base64.b64encode(content).decode("ascii"),
            }
        )
    if not files:
        return
    log(
        f"the editable build wrote {', '.join(f['path'] for f in files)} into the tree: recorded, so a "
        "run puts it back when it is gone"
    )
    data = json.dumps({"root": root, "files": files}, indent=1, sort_keys=True).encode() + b"\n"
    add_to_dist_info(wheel, RECORD_NAME, data)


def add_to_dist_info(wheel: str, name: str, data: bytes) -> None:
    """Rewrite ``wheel`` with one more file in its ``.dist-info``, listed in its RECORD."""
    with zipfile.ZipFile(wheel) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    record_info = next(
        (i for i, _ in entries if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/RECORD")),
        None,
    )
    if record_info is None:
        log(f"warning: {os.path.basename(wheel)} has no .dist-info/RECORD; the tree files are not recorded")
        return
    arcname = record_info.filename.rsplit("/", 1)[0] + "/" + name
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    listed = dict((info.filename, content) for info, content in entries)[record_info.filename]
    rows = [row for row in csv.reader(io.StringIO(listed.decode("utf-8"))) if row and row[0] != arcname]
    rows.append([arcname, f"sha256={digest}", str(len(data))])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    added = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    added.compress_type = zipfile.ZIP_DEFLATED
    added.external_attr = 0o644 << 16
    tmp = wheel + ".tmp"
    with zipfile.ZipFile(tmp, "w") as out:
        for info, content in entries:
            if info.filename == arcname:
                continue
            if info.filename == record_info.filename:
                out.writestr(added, data)
                out.writestr(info, buffer.getvalue().encode())
            else:
                out.writestr(info, content)
    os.replace(tmp, wheel)
