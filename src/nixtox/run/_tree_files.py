"""Files an editable build wrote into the project tree, put back before commands run when they are gone.

``build_editable`` runs in the live tree, and some backends write into it there (flit_scm's and
setuptools-scm's ``_version.py``, which the package imports). tox rebuilds the editable package on every
run, so it never misses such a file; nixtox keeps the editable derivation while the metadata and the
version stay the same, so after a ``git clean`` the file would be gone. The editable builder records
what the build wrote in the wheel (``<name>.dist-info/nixtox-tree-files.json``, see
``nix/builders/_tree_files.py``); this writes back each recorded file that is missing. A file that
exists is left as it is, whatever it holds.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path, PurePosixPath

__all__ = ["RECORD_NAME", "restore_tree_files"]

RECORD_NAME = "nixtox-tree-files.json"


def restore_tree_files(store_path: Path) -> list[Path]:
    """Write back the recorded files of the env's editable package that are missing; the paths written."""
    restored: list[Path] = []
    for record in sorted(store_path.glob(f"lib/python*/site-packages/*.dist-info/{RECORD_NAME}")):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            root = Path(data["root"])
            entries = list(data["files"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a record nixtox wrote: nothing to restore from it
        for entry in entries:
            target = _target(root, entry)
            if target is None or target.exists() or target.is_symlink():
                continue
            try:
                content = base64.b64decode(entry["content"], validate=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
                target.chmod(0o755 if entry.get("executable") else 0o644)
            except (OSError, binascii.Error, KeyError, TypeError):
                continue  # the commands then meet the missing file, as they would without nixtox
            restored.append(target)
    return restored


def _target(root: Path, entry: object) -> Path | None:
    """The file to write, only inside the project root the editable build ran in."""
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not root.is_absolute():
        return None
    rel = PurePosixPath(entry["path"])
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return root.joinpath(*rel.parts)
