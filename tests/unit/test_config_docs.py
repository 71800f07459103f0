"""The committed reference page is the generated one: run ``python -m nixtox.config._docs`` after edits."""

from __future__ import annotations

from pathlib import Path

from nixtox.config._docs import render
from nixtox.config._keys import CORE_KEYS, ENV_KEYS, PACKAGEDEF_KEYS

DOC = Path(__file__).parents[2] / "docs" / "reference" / "config.md"


def test_reference_is_generated() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "regenerate: python -m nixtox.config._docs > " + str(
        DOC
    )


def test_every_key_declared_once() -> None:
    for keys in (CORE_KEYS, ENV_KEYS, PACKAGEDEF_KEYS):
        names = [n for key in keys for n in key.names]
        assert len(names) == len(set(names))
