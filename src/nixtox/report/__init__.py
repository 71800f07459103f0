"""Report stage: EnvResults -> console summary, result JSON, JUnit XML, HTML matrix, exit code."""

from __future__ import annotations

from nixtox.report._console import exit_code, summary_lines
from nixtox.report._html import html_report, write_html
from nixtox.report._json import result_json
from nixtox.report._junit import junit_xml, write_junit

__all__ = [
    "exit_code",
    "html_report",
    "junit_xml",
    "result_json",
    "summary_lines",
    "write_html",
    "write_junit",
]
