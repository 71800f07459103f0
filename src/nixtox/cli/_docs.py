"""Generate docs/reference/cli.md from the click commands: ``python -m nixtox.cli._docs``."""

from __future__ import annotations

import click

from nixtox.cli import cli


def render() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from nixtox's command definitions by `python -m nixtox.cli._docs`; do not edit.",
        "",
    ]
    # the group's context settings (-h as well as --help), as a real invocation has them: click keeps a
    # command's help option from the first context it sees
    ctx = click.Context(cli, info_name="nixtox", **cli.context_settings)
    assert isinstance(cli, click.Group)
    names: dict[int, list[str]] = {}
    commands: dict[int, click.Command] = {}
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if command is not None:
            names.setdefault(id(command), []).append(name)
            commands[id(command)] = command
    # a command is documented under its longest name; the short ones are its aliases
    for primary, key in sorted((max(n, key=len), key) for key, n in names.items()):
        command = commands[key]
        aliases = sorted(n for n in names[key] if n != primary)
        sub = click.Context(command, info_name=primary, parent=ctx, terminal_width=100, max_content_width=100)
        lines += [f"## nixtox {primary}", ""]
        if aliases:
            lines += [f"Alias: {', '.join(f'`nixtox {a}`' for a in aliases)}", ""]
        lines += ["```text", command.get_help(sub).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
