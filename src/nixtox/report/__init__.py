"""Report stage: EnvResults -> console summary, result JSON, JUnit XML, HTML matrix, exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nixtox.report._console import INTERRUPTED, exit_code, summary_lines
from nixtox.report._json import result_json
from nixtox.report._logs import failed_log
from nixtox.report._project import project_info

if TYPE_CHECKING:
    from nixtox.report._html import html_report, write_html
    from nixtox.report._junit import junit_xml, write_junit

__all__ = [
    "INTERRUPTED",
    "exit_code",
    "failed_log",
    "html_report",
    "junit_xml",
    "project_info",
    "result_json",
    "summary_lines",
    "write_html",
    "write_junit",
]

#: loaded on first use: a run that writes neither JUnit nor HTML never imports jinja2 or ElementTree
_LAZY = {
    "html_report": "_html",
    "write_html": "_html",
    "junit_xml": "_junit",
    "write_junit": "_junit",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib  # noqa: PLC0415 - lazy on purpose

        return getattr(importlib.import_module(f"nixtox.report.{_LAZY[name]}"), name)
    raise AttributeError(name)
