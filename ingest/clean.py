"""Turn a raw article (plain text, markdown or HTML) into a `CleanDoc` without page furniture.

The one rule everything here obeys: a kept sentence keeps every character it had in the source.
Cleaning may only drop whole lines or blocks, list markers, leading decoration symbols and
citation markers that follow a sentence, and collapse whitespace. For markdown and HTML the
"source" is the visible text (markup syntax is not part of a sentence).

Stages, each in its own module:

1. parse into raw blocks (heading / paragraph / list_item): `formats/`, one parser per format;
2. set the article's own reference list aside: `references.py`;
3. drop furniture (`furniture.py`, by the patterns of `boilerplate.py`): sections under furniture
   headings, runs of short menu-like lines, the site header, the byline run under the title,
   boilerplate blocks and sentences, runs of bare questions;
4. strip citation markers (`references.py`); drop headings whose section cleaning emptied;
5. join the blocks with blank lines, recording offsets (and, for paged sources such as PDF,
   where each page's text lies).
"""

from __future__ import annotations

from groundedqa.ingest import formats
from groundedqa.ingest.blocks import ParsedPage, RawBlock
from groundedqa.ingest.furniture import drop_furniture
from groundedqa.ingest.models import Block, CleanDoc, PageRange, SourceFormat
from groundedqa.ingest.references import split_references, strip_citation_markers

__all__ = ["clean"]


def clean(raw: str | bytes, fmt: SourceFormat = "text") -> CleanDoc:
    """Remove page furniture from one article and structure what remains.

    `fmt` is "text", "markdown" or "html" (`raw` a str), or "pdf" or "docx" (`raw` the file's
    bytes). The result's `text` is the kept blocks joined by
    blank lines; `blocks` locate each heading, paragraph and list item in it; `references` holds
    the article's own reference list, which is never part of `text`; `pages` where each source
    page's text lies (PDF), `notes` what the parser left out and why. Kept sentences are verbatim
    (whitespace aside); only lines, blocks, list markers, leading decoration symbols and citation
    markers after sentences are removed. A file its parser cannot read raises
    `UnreadableSource` with the reason.
    """
    page = formats.parse(raw, fmt)
    blocks, references = split_references(page.blocks, marked_headings=page.marked_headings)
    _mark_sections(blocks)
    blocks = drop_furniture(blocks)
    blocks = _drop_emptied_headings(strip_citation_markers(blocks))
    return _assemble(blocks, references, page)


def _mark_sections(blocks: list[RawBlock]) -> None:
    """Remember which headings had a body, so a heading emptied by cleaning can be dropped."""
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            block.had_content = nxt is not None and not (nxt.kind == "heading" and nxt.level <= block.level)


def _drop_emptied_headings(blocks: list[RawBlock]) -> list[RawBlock]:
    """Drop headings left with nothing under them, and any heading that ends the article."""
    out: list[RawBlock] = []
    for block in reversed(blocks):
        if block.kind == "heading":
            nxt = out[-1] if out else None
            empty = nxt is None or (nxt.kind == "heading" and nxt.level <= block.level)
            if empty and (block.had_content or nxt is None):
                continue
        out.append(block)
    return out[::-1]


def _assemble(blocks: list[RawBlock], references: list[str], page: ParsedPage) -> CleanDoc:
    title = None
    if blocks and blocks[0].kind == "heading":
        if not page.marked_headings:
            blocks[0].level = 1  # the first heading of a page without heading markup is its title
        title = blocks[0].text
    if page.marked_headings:
        title = (
            next((b.text for b in blocks if b.kind == "heading" and b.level == 1), title) or page.title
        )
    parts: list[str] = []
    out_blocks: list[Block] = []
    pages: list[PageRange] = []
    offset = 0
    for block in blocks:
        if parts:
            offset += 2  # the "\n\n" separator
        parts.append(block.text)
        out_blocks.append(Block(block.kind, offset, offset + len(block.text), block.level))
        if block.page is not None:
            _add_pages(pages, block, offset)
        offset += len(block.text)
    return CleanDoc(text="\n\n".join(parts), blocks=out_blocks, title=title, references=references,
                    pages=pages, notes=list(page.notes))


def _add_pages(pages: list[PageRange], block: RawBlock, offset: int) -> None:
    """Extend the page map with a block of paged text that starts at `offset`."""
    starts = [(0, block.page), *block.page_breaks]
    for n, (at, number) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(block.text)
        # A page's part of the block, without the space the line join put before it.
        start, stop = offset + at, offset + len(block.text[:end].rstrip())
        if pages and pages[-1].page == number:
            pages[-1].end = max(pages[-1].end, stop)
        elif stop > start:
            pages.append(PageRange(number, start, stop))
