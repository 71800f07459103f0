"""``nixtox depends``: the ``depends`` graph of every env, printed as ``tox depends`` prints it.

    Execution order: lint, py312, coverage
    ALL
       lint
       py312 ~ sdist
       coverage
          py312 ~ sdist

Under ``ALL`` every env (the default ones, then the others) with, indented below it, the envs it
depends on in execution order, recursively. tox shows an env's packaging env after ``~``; nixtox builds
the package inside the env, so it shows the package format (none for an env that installs no package).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import click

from nixtox.cli._options import Output, Target, echo_warnings, project_options
from nixtox.model import EnvSpec
from nixtox.run import dependency_order

__all__ = ["depends_cmd", "depends_lines", "execution_order"]


def execution_order(specs: Sequence[EnvSpec], graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Keys in tox's order: each env after the ones it depends on, otherwise in listing order (tox's
    ``stable_topological_sort``). ``graph`` has no cycle (``dependency_order`` refuses one)."""
    order: list[str] = []
    done: set[str] = set()
    pending = [spec.key for spec in specs]
    while pending:
        key = next(k for k in pending if all(dep in done for dep in graph[k]))
        pending.remove(key)
        done.add(key)
        order.append(key)
    return order


def depends_lines(specs: Sequence[EnvSpec]) -> list[str]:
    graph = dependency_order(specs)
    order = execution_order(specs, graph)
    position = {key: index for index, key in enumerate(order)}
    by_key = {spec.key: spec for spec in specs}
    lines = [f"Execution order: {', '.join(by_key[key].label for key in order)}", "ALL"]

    def show(key: str, depth: int) -> None:
        spec = by_key[key]
        package = f" ~ {spec.package_format}" if spec.installs_package else ""
        lines.append(f"{'   ' * depth}{spec.label}{package}")
        for dep in sorted(graph[key], key=position.__getitem__):
            show(dep, depth + 1)

    for spec in specs:
        show(spec.key, 1)
    return lines


@click.command("depends")
@project_options
def depends_cmd(*, target: Target, output: Output) -> None:
    """Show every env and the envs it depends on (`depends`), in the order they run."""
    project = target.load()
    echo_warnings(project, output)
    for line in depends_lines(project.envs):
        click.echo(line)
