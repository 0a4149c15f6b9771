"""One parser per source format, each `parse(raw) -> ParsedPage`; a new format is one new module
here and one line in `PARSERS`.

Text formats get the decoded text (str); the binary formats in `BINARY_FORMATS` get the file's
bytes, which their parser decodes itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from groundedqa.ingest.blocks import ParsedPage

__all__ = ["BINARY_FORMATS", "PARSERS", "parse"]


def _parser(module: str) -> Callable[[Any], ParsedPage]:
    """`parse` of the format's module, imported at its first use: a server that never parses an
    upload never loads markdown-it, pdfplumber, python-docx and the rest."""

    def parse(raw: Any) -> ParsedPage:
        return importlib.import_module(f"{__name__}.{module}").parse(raw)

    return parse


PARSERS: dict[str, Callable[[Any], ParsedPage]] = {
    name: _parser(name) for name in ("text", "markdown", "html", "pdf", "docx")}
#: Formats read as bytes: the loader never decodes them as text.
BINARY_FORMATS = frozenset({"pdf", "docx"})


def parse(raw: str | bytes, fmt: str) -> ParsedPage:
    """Parse `raw` with the parser registered for `fmt` (bytes for `BINARY_FORMATS`, else str)."""
    parser = PARSERS.get(fmt)
    if parser is None:
        expected = ", ".join(repr(name) for name in PARSERS)
        raise ValueError(f"unknown source format {fmt!r} (expected one of {expected})")
    if isinstance(raw, bytes) != (fmt in BINARY_FORMATS):
        raise TypeError(f"the {fmt!r} parser takes {'bytes' if fmt in BINARY_FORMATS else 'str'}")
    return parser(raw)
