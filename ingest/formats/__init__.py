"""One parser per source format, each `parse(raw) -> ParsedPage`; a new format is one new module
here and one line in `PARSERS`.

Text formats get the decoded text (str); the binary formats in `BINARY_FORMATS` get the file's
bytes, which their parser decodes itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groundedqa.ingest.blocks import ParsedPage
from groundedqa.ingest.formats import docx, html, markdown, pdf, text

__all__ = ["BINARY_FORMATS", "PARSERS", "parse"]

PARSERS: dict[str, Callable[[Any], ParsedPage]] = {
    "text": text.parse,
    "markdown": markdown.parse,
    "html": html.parse,
    "pdf": pdf.parse,
    "docx": docx.parse,
}
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
