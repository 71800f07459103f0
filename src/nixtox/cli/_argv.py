"""tox's command-line shape on top of click, applied to argv before click parses it.

* Options go before or after the subcommand, as in tox (``tox -c tox.ini run -e py311``): the first word
  that names a command, and is not the value of an option, moves to the front (tox's
  ``ToxParser.parse_known_args`` does the same). Without a command, ``run`` is the command, as ``tox``
  alone runs ``tox run``.
* tox's ``nargs="+"`` options take every following word up to the next option: ``-m lint docs`` is two
  labels, ``-f py312 django`` one factor group; they become one click value (``-m "lint docs"``), which
  the commands split on spaces and commas.
* tox's ``-s [v]`` takes a value only when one of its choices follows (``-s``, ``-s false``); it becomes
  ``--skip-missing-interpreters=VALUE``.

Nothing after ``--`` is touched: those are the posargs.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Final, Literal

__all__ = ["ARITY", "Arity", "normalize"]

#: how many words an option takes: 0 (a flag), 1, "+" (one or more, up to the next option), "?" (one
#: optional value from ``OPTIONAL_VALUES``)
Arity = Literal[0, 1, "+", "?"]

#: the options whose words the command position and the value joining depend on: every option a user
#: may put before the subcommand (global, env selection, run's), and tox's "+"/"?" options. Unknown
#: options count as flags: ``--fail-fast run`` still finds ``run``.
ARITY: Final[Mapping[str, Arity]] = {
    # global
    "-c": 1, "--conf": 1, "--root": 1, "--workdir": 1, "-x": 1, "--override": 1, "--colored": 1,
    "--exit-and-dump-after": 1, "--stderr-color": 1,
    # env selection
    "-e": 1, "--env": 1, "-m": "+", "--label": "+", "-f": "+", "--factor": "+", "--skip-env": 1,
    # run and the commands that build
    "--result-json": 1, "--junit": 1, "--html": 1, "--hashseed": 1, "-p": 1, "--parallel": 1,
    "--installpkg": 1, "-s": "?", "--skip-missing-interpreters": "?", "--discover": "+",
    # config, lock, export, shell
    "-k": "+", "--key": "+", "--index-url": 1, "-o": 1, "--output": 1, "--kind": 1, "--format": 1,
}  # fmt: skip

#: the values an "?" option accepts; anything else after it is not its value
OPTIONAL_VALUES: Final[Mapping[str, tuple[str, str]]] = {
    # option -> (its long name, the value it means alone)
    "-s": ("--skip-missing-interpreters", "true"),
    "--skip-missing-interpreters": ("--skip-missing-interpreters", "true"),
}
_SKIP_CHOICES: Final = ("config", "true", "false")
_BARE: Final = ("-h", "--help", "--version")


def _arity(word: str) -> tuple[Arity, bool]:
    """(arity of the option ``word`` spells, whether its value is attached: ``--x=1``, ``-e py``)."""
    if word.startswith("--"):
        name, eq, _ = word.partition("=")
        return ARITY.get(name, 0), bool(eq)
    arity = ARITY.get(word[:2], 0)
    return arity, len(word) > 2 and arity != 0


def _is_option(word: str) -> bool:
    return word.startswith("-") and word != "-"


def command_index(args: Sequence[str], commands: Container[str]) -> int | None:
    """Where the subcommand is: the first word naming a command that no option takes as its value."""
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return None
        if _is_option(word):
            arity, attached = _arity(word)
            if arity == 1 and not attached:
                index += 1
            elif arity == "+" and not attached:
                while index + 1 < len(args) and not _is_option(args[index + 1]):
                    index += 1
            elif arity == "?" and index + 1 < len(args) and args[index + 1] in _SKIP_CHOICES:
                index += 1
        elif word in commands:
            return index
        index += 1
    return None


def _joined(args: Sequence[str]) -> list[str]:
    """The "+" options' words joined into one value, the "?" options' value made explicit."""
    out: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "--":
            out += args[index - 1 :]
            break
        if not _is_option(word):
            out.append(word)
            continue
        arity, attached = _arity(word)
        if arity == "+" and not attached:
            words = []
            while index < len(args) and not _is_option(args[index]):
                words.append(args[index])
                index += 1
            out += [word, " ".join(words)] if words else [word]
        elif arity == "?" and not attached:
            name, alone = OPTIONAL_VALUES[word]
            given = args[index] if index < len(args) and args[index] in _SKIP_CHOICES else None
            index += given is not None
            out.append(f"{name}={given or alone}")
        elif arity == 1 and not attached:
            out += args[index - 1 : index + 1]
            index += 1
        else:
            out.append(word)
    return out


def _command_first(args: list[str], commands: Container[str]) -> list[str] | None:
    found = command_index(args, commands)
    if found is None:
        return None
    return [args[found], *args[:found], *args[found + 1 :]]


def normalize(
    args: Sequence[str],
    commands: Container[str],
    *,
    groups: Mapping[str, Container[str]] | None = None,
    default: str = "run",
) -> list[str]:
    """``args`` with the subcommand first (``default`` when none is named) and tox's multi-word options
    joined. A command in ``groups`` (``cache``) takes its own subcommand next (``cache push``), and the
    options go after both. ``-h``, ``--help`` and ``--version`` alone stay the group's."""
    args = list(args)
    if len(args) == 1 and args[0] in _BARE:
        return args
    ordered = _command_first(args, commands)
    if ordered is None:
        if args and not _is_option(args[0]):
            return args  # an unknown command: click says so
        ordered = [default, *args]
    head, rest = ordered[:1], ordered[1:]
    subcommands = (groups or {}).get(head[0])
    if subcommands is not None and (inner := _command_first(rest, subcommands)) is not None:
        head, rest = [*head, inner[0]], inner[1:]
    return [*head, *_joined(rest)]
