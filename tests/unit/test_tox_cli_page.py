"""docs/reference/tox-cli.md against the pinned tox's ``--help`` and nixtox's own command line.

Every tox command and every flag of every tox command must have its row; a row's "tox commands" must
be where tox has the flag; its verdict must hold for nixtox: **same** = every listed command nixtox has
accepts the flag, **changed** = at least one does, **not supported** = none does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from nixtox.cli import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "tox-cli.md"

#: prints {"": tox --help, "run": tox run --help, ...} for every subcommand of the installed tox
_HELP_SCRIPT = textwrap.dedent(
    """
    import contextlib, io, json, re, sys
    from tox.run import run

    def help_of(args):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            try:
                run([*args, "--help"])
            except SystemExit:
                pass
        return buf.getvalue()

    top = help_of([])
    names = re.findall(r"^    (\\S+)(?: \\(\\S+\\))?\\s{2,}", top, re.M)
    print(json.dumps({"": top, **{name: help_of([name]) for name in names}}))
    """
)


@cache
def tox_help() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "NIXTOX_"))}
    proc = subprocess.run(
        [sys.executable, "-c", _HELP_SCRIPT], capture_output=True, text=True, check=True, timeout=120, env=env,
        cwd=PAGE.parent,
    )  # fmt: skip
    helps: dict[str, str] = json.loads(proc.stdout)
    return helps


def tox_commands() -> dict[str, str]:
    """command -> its alias ("" when it has none), from ``tox --help``."""
    return dict(re.findall(r"^    (\S+)(?: \((\S+)\))?\s{2,}", tox_help()[""], re.M))


def tox_flags() -> dict[tuple[str, ...], set[str]]:
    """Each option (all its spellings) -> the subcommands whose help lists it."""
    found: dict[tuple[str, ...], set[str]] = {}
    for command, text in tox_help().items():
        if not command:
            continue
        for line in text.splitlines():
            if line.startswith("  -"):
                head = re.split(r"\s{2,}", line.strip())[0]
                spellings = tuple(part.split(" ")[0] for part in head.split(", "))
                found.setdefault(spellings, set()).add(command)
    return found


def page_rows(heading: str) -> list[list[str]]:
    """The table rows under ``## heading``, as cells."""
    section = PAGE.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]  # no header


def _codes(cell: str) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", cell))


def _verdict(cell: str) -> str:
    match = re.match(r"\*\*(same|changed|not supported)\*\*", cell)
    assert match is not None, f"a verdict must start the nixtox column: {cell[:60]}"
    return match[1]


def nixtox_accepts(command: str, flag: str) -> bool | None:
    """Whether nixtox's ``command`` ("": ``nixtox`` itself) takes ``flag`` (None: no such command)."""
    assert isinstance(cli, click.Group)
    top = click.Context(cli, info_name="nixtox", **cli.context_settings)
    found = cli if command == "" else cli.get_command(top, command)
    if found is None:
        return None
    if flag in ("-h", "--help"):  # click makes (and caches) the help option per context: ask the CLI
        result = CliRunner().invoke(cli, [*([command] if command else []), flag])
        return result.exit_code == 0 and result.output.startswith("Usage:")
    ctx = top if command == "" else click.Context(found, parent=top, info_name=command)
    options = [p for p in found.get_params(ctx) if isinstance(p, click.Option)]
    return any(flag in (*p.opts, *p.secondary_opts) for p in options)


def test_every_tox_command_has_a_row() -> None:
    rows = {_codes(cells[0]) for cells in page_rows("Commands")}
    for command, alias in tox_commands().items():
        assert (command, alias) in rows or (command,) in rows, (
            f"docs/reference/tox-cli.md lacks tox {command}"
        )


def test_commands_marked_as_nixtox_s_exist_and_the_others_do_not() -> None:
    for cells in page_rows("Commands"):
        names, verdict = _codes(cells[0]), _verdict(cells[1])
        for name in names:
            exists = nixtox_accepts(name, "--help") is not None
            assert exists == (verdict != "not supported"), f"{name}: the page says {verdict}"


def test_every_tox_flag_has_a_row_saying_where_tox_has_it() -> None:
    rows = {_codes(cells[0]): cells for cells in page_rows("Options")}
    every = set(tox_commands())
    missing = []
    for spellings, commands in tox_flags().items():
        cells = rows.get(spellings)
        if cells is None:
            missing.append(", ".join(spellings))
            continue
        where = every if cells[1] == "all" else {c.strip() for c in cells[1].split(",")}
        assert where == commands, f"{spellings}: tox has it on {sorted(commands)}, the page says {cells[1]}"
    assert not missing, f"docs/reference/tox-cli.md lacks rows for tox's {missing}"


@pytest.mark.parametrize("cells", page_rows("Options"), ids=lambda cells: cells[0])
def test_each_verdict_holds_for_nixtox(cells: list[str]) -> None:
    flags, verdict = _codes(cells[0]), _verdict(cells[2])
    where = sorted(tox_commands()) if cells[1] == "all" else [c.strip() for c in cells[1].split(",")]
    for flag in flags:
        accepted = [c for c in ["", *where] if nixtox_accepts(c, flag)]
        known = [c for c in where if nixtox_accepts(c, "--help") is not None]
        if verdict == "same":
            assert set(known) <= set(accepted), (
                f"{flag}: 'same', but nixtox lacks it on {set(known) - set(accepted)}"
            )
        elif verdict == "changed":
            assert accepted, f"{flag}: 'changed', but no nixtox command of {where} has it"
        else:
            assert not [c for c in accepted if c], f"{flag}: 'not supported', but nixtox {accepted} accept it"
