"""Report stage: EnvResults -> console summary, result JSON, exit code."""

from __future__ import annotations

from nixtox.report._console import exit_code, summary_lines
from nixtox.report._json import result_json

__all__ = ["exit_code", "result_json", "summary_lines"]
