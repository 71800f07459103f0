"""Command output made safe for reports: no terminal colour codes, nothing XML 1.0 forbids."""

from __future__ import annotations

import re

__all__ = ["clean_output", "tail"]

#: CSI (colours, cursor moves) and OSC (titles, hyperlinks) escape sequences.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
#: characters XML 1.0 cannot carry at all, even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_output(text: str) -> str:
    """Drop escape sequences; spell other control characters as ``\\x1b``-style text; CRLF -> LF."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def tail(text: str, limit: int) -> tuple[str, int]:
    """The last ``limit`` characters of ``text`` (cut at a line start) and how many were dropped."""
    if len(text) <= limit:
        return text, 0
    kept = text[-limit:]
    newline = kept.find("\n")
    if 0 <= newline < len(kept) - 1:
        kept = kept[newline + 1 :]
    return kept, len(text) - len(kept)
