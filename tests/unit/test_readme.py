"""The README's commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _console_blocks(text: str) -> list[str]:
    return re.findall(r"```console\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    blocks = _console_blocks((ROOT / "README.md").read_text())
    test_command = next(b.strip() for b in blocks if "-m pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_example_command_names_an_existing_project() -> None:
    blocks = _console_blocks((ROOT / "README.md").read_text())
    example = next(b.strip() for b in blocks if "--root examples/" in b)
    project = re.search(r"--root (\S+)", example)
    assert project is not None
    assert (ROOT / project.group(1) / "tox.ini").is_file()


def test_readme_links_point_at_existing_docs() -> None:
    text = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\((docs/[^)]+)\)", text):
        assert (ROOT / link).is_file(), link
