"""One parser per source format, each `parse(raw) -> ParsedPage`; a new format is one new module
here and one line in `PARSERS`."""

from __future__ import annotations

from collections.abc import Callable

from groundedqa.ingest.blocks import ParsedPage
from groundedqa.ingest.formats import html, markdown, text

__all__ = ["PARSERS", "parse"]

PARSERS: dict[str, Callable[[str], ParsedPage]] = {
    "text": text.parse,
    "markdown": markdown.parse,
    "html": html.parse,
}


def parse(raw: str, fmt: str) -> ParsedPage:
    """Parse `raw` with the parser registered for `fmt`."""
    parser = PARSERS.get(fmt)
    if parser is None:
        expected = ", ".join(repr(name) for name in PARSERS)
        raise ValueError(f"unknown source format {fmt!r} (expected one of {expected})")
    return parser(raw)
