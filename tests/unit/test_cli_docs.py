"""docs/reference/cli.md is generated from the commands; it must match them."""

from __future__ import annotations

from pathlib import Path

from nixtox.cli import _docs

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "reference" / "cli.md").read_text()
    assert committed == _docs.render(), "run: python -m nixtox.cli._docs > docs/reference/cli.md"
