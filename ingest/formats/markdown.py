"""Markdown: headings and list items from the syntax (markdown-it), paragraphs by the text rules."""

from __future__ import annotations

from markdown_it import MarkdownIt

from groundedqa.ingest.blocks import ParsedPage, RawBlock, squash, strip_decoration
from groundedqa.ingest.formats import text as text_format

__all__ = ["parse"]

_MARKDOWN = MarkdownIt("commonmark")


def _render_inline(children: list) -> tuple[str, float]:
    """Visible text of a markdown inline run and the share of it that is link text."""
    parts: list[str] = []
    link_chars = 0
    depth = 0
    for tok in children:
        if tok.type == "link_open":
            depth += 1
        elif tok.type == "link_close":
            depth -= 1
        elif tok.type in ("text", "code_inline"):
            parts.append(tok.content)
            if depth:
                link_chars += len("".join(tok.content.split()))
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        # images, raw inline HTML and emphasis markers carry no sentence text
    text = "".join(parts)
    total = len("".join(text.split()))
    return text, (link_chars / total if total else 0.0)


def parse(raw: str) -> ParsedPage:
    """Blocks from markdown syntax; a paragraph's lines go through the plain-text rules."""
    tokens = _MARKDOWN.parse(raw)
    out: list[RawBlock] = []
    item_depth = 0
    for i, tok in enumerate(tokens):
        if tok.type == "list_item_open":
            item_depth += 1
        elif tok.type == "list_item_close":
            item_depth -= 1
        elif tok.type == "inline":
            text, ratio = _render_inline(tok.children or [])
            opener = tokens[i - 1]
            if opener.type == "heading_open":
                out.append(
                    RawBlock("heading", strip_decoration(squash(text)), int(opener.tag[1]), link_ratio=ratio)
                )
            elif item_depth:
                out.append(
                    RawBlock("list_item", strip_decoration(squash(text)), bulleted=True, link_ratio=ratio)
                )
            else:
                for block in text_format.parse(text, doc_start=not out).blocks:
                    block.link_ratio = ratio
                    out.append(block)
        # fences, code blocks and raw HTML blocks are not patient prose
    return ParsedPage([b for b in out if b.text])
