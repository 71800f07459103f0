"""tox's command-line shape (``nixtox.cli._argv``): options before or after the subcommand."""

from __future__ import annotations

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nixtox.cli import _COMMANDS, CACHE_COMMANDS, cli
from nixtox.cli._argv import ARITY, normalize

COMMANDS = frozenset(_COMMANDS)


def _norm(*args: str) -> list[str]:
    return normalize(args, COMMANDS, groups={"cache": CACHE_COMMANDS})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # the two cases: a global option before the subcommand is not a posarg
        (["-c", "tox.ini", "run", "-e", "py311"], ["run", "-c", "tox.ini", "-e", "py311"]),
        (
            ["--root", ".", "run", "-e", "e", "--", "x", "y"],
            ["run", "--root", ".", "-e", "e", "--", "x", "y"],
        ),
        # no subcommand: run, as `tox` alone
        ([], ["run"]),
        (["-e", "py312"], ["run", "-e", "py312"]),
        # an option's value that spells a command is a value
        (["-e", "list"], ["run", "-e", "list"]),
        (["--root", "config", "list"], ["list", "--root", "config"]),
        (["-x", "testenv.commands=run", "list"], ["list", "-x", "testenv.commands=run"]),
        # after --, nothing is a command nor an option
        (["-e", "py", "--", "list", "-m", "a", "b"], ["run", "-e", "py", "--", "list", "-m", "a", "b"]),
        # tox's nargs="+" options: one value of several words
        (["run", "-m", "lint", "docs", "-e", "x"], ["run", "-m", "lint docs", "-e", "x"]),
        (["-f", "py312", "django", "list"], ["run", "-f", "py312 django list"]),  # tox swallows list too
        (["config", "-k", "deps", "commands"], ["config", "-k", "deps commands"]),
        # tox's -s [v]
        (["run", "-s", "-e", "x"], ["run", "--skip-missing-interpreters=true", "-e", "x"]),
        (["-s", "false", "run"], ["run", "--skip-missing-interpreters=false"]),
        (["run", "-sfalse"], ["run", "-sfalse"]),
        # attached values and flag clusters
        (["-epy312", "list"], ["list", "-epy312"]),
        (["--conf=tox.ini", "-qq", "depends"], ["depends", "--conf=tox.ini", "-qq"]),
        # a group's own subcommand comes next, its options after both
        (["-e", "py", "cache", "-q", "push"], ["cache", "push", "-e", "py", "-q"]),
        # help, version and unknown commands are click's to answer
        (["--help"], ["--help"]),
        (["--version"], ["--version"]),
        (["frobnicate", "-e", "x"], ["frobnicate", "-e", "x"]),
    ],
)
def test_normalize(given: list[str], expected: list[str]) -> None:
    assert _norm(*given) == expected


_VALUE = st.text(alphabet="abcxyz0123456789._=:", min_size=1, max_size=8)
_OPTION = st.one_of(
    st.tuples(st.sampled_from(["-c", "--root", "--workdir", "-x", "-e", "--colored", "--skip-env"]), _VALUE),
    st.tuples(st.sampled_from(["-r", "-v", "-q", "-vv", "--develop", "-n", "--fail-fast"])),
)


@given(
    options=st.lists(_OPTION, max_size=6),
    split=st.integers(min_value=0, max_value=6),
    command=st.sampled_from(sorted(COMMANDS - {"cache"})),
    posargs=st.lists(st.sampled_from(["run", "list", "-e", "x", "--", "-m"]), max_size=4),
)
def test_options_mean_the_same_before_or_after_the_command(
    options: list[tuple[str, ...]], split: int, command: str, posargs: list[str]
) -> None:
    """Wherever the command stands among its options, the command sees them in order; posargs are kept."""
    words = [w for option in options for w in option]
    cut = len([w for option in options[:split] for w in option])
    tail = ["--", *posargs] if posargs else []
    assert _norm(*words[:cut], command, *words[cut:], *tail) == [command, *words, *tail]


def test_every_option_taking_a_value_is_known_to_the_scan() -> None:
    """An option of a command's own that takes a value must be in ARITY, else a value that spells a
    command (``--result-json list``) would be taken for the command."""
    ctx = click.Context(cli)
    assert isinstance(cli, click.Group)
    missing = set()
    for name in (
        "run",
        "run-parallel",
        "list",
        "config",
        "depends",
        "exec",
        "devenv",
        "lock",
        "shell",
        "export",
    ):
        command = cli.get_command(ctx, name)
        assert command is not None
        for param in command.params:
            if isinstance(param, click.Option) and not param.is_flag and not param.count:
                missing |= {opt for opt in param.opts if opt not in ARITY}
    # -i and -o are flags of run (tox's --no-capture, --parallel-live): before a command they are flags
    assert missing <= {"-i", "-o"}, missing


def test_the_cache_group_lists_its_subcommands() -> None:
    group = cli.get_command(click.Context(cli), "cache")
    assert isinstance(group, click.Group)
    assert sorted(group.commands) == sorted(CACHE_COMMANDS)
