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
    ctx = click.Context(cli, info_name="nixtox")
    assert isinstance(cli, click.Group)
    seen: set[int] = set()
    for name in sorted(cli.list_commands(ctx)):
        command = cli.get_command(ctx, name)
        if command is None or id(command) in seen:
            continue
        seen.add(id(command))
        aliases = [n for n in cli.list_commands(ctx) if n != name and cli.get_command(ctx, n) is command]
        sub = click.Context(command, info_name=f"nixtox {name}", terminal_width=100, max_content_width=100)
        lines += [f"## nixtox {name}", ""]
        if aliases:
            lines += [f"Alias: {', '.join(f'`nixtox {a}`' for a in aliases)}", ""]
        lines += ["```text", command.get_help(sub).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
