"""``nixtox report``: turn a ``--result-json`` file (nixtox's, or tox's own) into an HTML page and/or
JUnit XML."""

from __future__ import annotations

from pathlib import Path

import click

from nixtox.cli._options import Output, output_options
from nixtox.report import junit_xml, write_html
from nixtox.report._read import load_result

__all__ = ["report_cmd"]

_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command("report")
@output_options
@click.argument("source", required=False, type=_FILE)
@click.option("--from", "from_path", type=_FILE, help="the result JSON to read (or give it as the argument)")
@click.option("--html", "html_path", type=_FILE, help="write a self-contained HTML page of the env matrix")
@click.option("--junit", "junit_path", type=_FILE, help="write JUnit XML (one testsuite per env)")
def report_cmd(
    *,
    output: Output,
    source: Path | None,
    from_path: Path | None,
    html_path: Path | None,
    junit_path: Path | None,
) -> None:
    """Render a result JSON (from `nixtox run --result-json` or `tox run --result-json`) as HTML and/or
    JUnit XML."""
    if source is not None and from_path is not None and source != from_path:
        raise click.UsageError("give the result JSON once: as the argument or with --from")
    path = source or from_path
    if path is None:
        raise click.UsageError("which result JSON? pass it as the argument or with --from")
    if html_path is None and junit_path is None:
        raise click.UsageError("nothing to write: add --html PATH and/or --junit PATH")
    data = load_result(path)
    if html_path is not None:
        write_html(data, html_path)
        output.notice(f"wrote {html_path}")
    if junit_path is not None:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_bytes(junit_xml(data))
        output.notice(f"wrote {junit_path}")
