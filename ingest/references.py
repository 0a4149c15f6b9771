"""The article's own reference list and the citation markers its sentences carry.

References are set aside (they are stored with the document, never quoted); markers such as
"... pain. 1 Specifically" or "... disability.[2]" are cut from the sentences they follow.
"""

from __future__ import annotations

import re

from groundedqa.ingest.blocks import TWO_SENTENCES, RawBlock, n_words, runs, with_text
from groundedqa.ingest.boilerplate import is_furniture_heading, is_references_heading

__all__ = ["split_references", "strip_citation_markers"]

_CITATION_AUTHOR_START = re.compile(
    r"^(?:\[\d+\]\s*)?[A-Z][A-Za-z'’-]+(?:\s[A-Z][A-Za-z'’-]+)?\s[A-Z]{1,3}[,.]"
)
_CITATION_EVIDENCE = re.compile(
    r"\bdoi\b|doi\.org/|\bpmid\b|\bet al\.|\b(?:19|20)\d\d\s*;\s*\d|\((?:19|20)\d\d\)", re.I
)
_CITATION_STRONG = re.compile(r"\bdoi\s*:|doi\.org/|\bpmid\s*:?\s*\d", re.I)


def _is_citation(block: RawBlock) -> bool:
    text = block.text
    if _CITATION_AUTHOR_START.match(text) and _CITATION_EVIDENCE.search(text):
        return True
    return block.kind == "list_item" and bool(_CITATION_STRONG.search(text))


def _is_body_prose(block: RawBlock) -> bool:
    """Article prose, as opposed to a citation's title or journal line (one sentence, a year)."""
    text = block.text
    return (
        block.kind != "heading"
        and n_words(text) >= 20
        and bool(TWO_SENTENCES.search(text))
        and not re.search(r"\b(?:19|20)\d\d\b", text)
        and not _is_citation(block)
    )


def split_references(blocks: list[RawBlock], marked_headings: bool) -> tuple[list[RawBlock], list[str]]:
    """Move the reference section and citation-like lines out of the body.

    With marked headings (markdown, HTML) the section ends at the next heading of its level; in
    plain text, where a citation's title looks like a heading, it ends at a furniture heading or at
    real prose.
    """
    body: list[RawBlock] = []
    refs: list[RawBlock] = []
    section_level: int | None = None
    for block in blocks:
        if section_level is not None:
            if block.kind == "heading" and (
                is_furniture_heading(block.text) or (marked_headings and block.level <= section_level)
            ):
                section_level = None
            elif not marked_headings and _is_body_prose(block):
                section_level = None
                if refs and refs[-1].kind == "heading":
                    body.append(refs.pop())
            else:
                refs.append(block)
                continue
        if block.kind == "heading" and is_references_heading(block.text):
            section_level = block.level
        elif _is_citation(block):
            refs.append(block)
        else:
            body.append(block)
    # Single-word lines ("Research", "Guideline") are type labels, not references.
    return body, [b.text for b in refs if n_words(b.text) > 1 or any(c.isdigit() for c in b.text)]


# --------------------------------------------------------------------------- citation markers

# A bare number (or "5, 4") after sentence punctuation, before the next sentence's capitalised
# word: ". 1 Specifically". Not before "XXX" or "HIV": "cells. 47 XXX syndrome ..." is content.
_NEXT_SENTENCE = r"(?=\s+(?:[A-Z][a-z]|[AI]\s))"
_MARKER_MID = re.compile(r"(?<=[.!?)\]])\s+\d{1,2}(?:\s*,\s*\d{1,2})*" + _NEXT_SENTENCE)
# The same glued to the punctuation: "pain.1 The" (copied superscripts).
_MARKER_GLUED = re.compile(r"(?<=[a-z][.!?])\d{1,2}(?:,\d{1,2})*(?:" + _NEXT_SENTENCE + r"|$)")
# At the end of a block: "... decompression. 5, 4", "(p < .01) 1", "... disability.[2]".
_MARKER_END = re.compile(
    r"(?<=[.!?)\]\"”’])\s+\d{1,2}(?:\s*,\s*\d{1,2})*$"
    r"|(?<=[.!?\"”’)])(?:\s*\[\d{1,3}(?:\s*[-–,]\s*\d{1,3})*\])+"
)
# A list item's trailing number after a word: a citation only when every sibling has one.
_MARKER_TAIL = re.compile(r"\s\d{1,2}(?:\s*,\s*\d{1,2})*$")


def _is_marker_doc(blocks: list[RawBlock]) -> bool:
    """Does the article cite with bare numbers? (two or more markers after sentences)."""
    hits = sum(len(_MARKER_MID.findall(b.text)) + len(_MARKER_END.findall(b.text)) for b in blocks)
    return hits >= 2


def strip_citation_markers(blocks: list[RawBlock]) -> list[RawBlock]:
    """Cut citation markers after sentences; bare-number markers only where the article cites that way."""
    marker_doc = _is_marker_doc(blocks)
    tail_items: set[int] = set()
    if marker_doc:
        for start, end in runs(blocks, lambda b: b.kind == "list_item"):
            if end - start >= 2 and all(_MARKER_TAIL.search(b.text) for b in blocks[start:end]):
                tail_items.update(range(start, end))
    out: list[RawBlock] = []
    for i, block in enumerate(blocks):
        text = _MARKER_END.sub("", block.text)
        if marker_doc:
            text = _MARKER_GLUED.sub("", _MARKER_MID.sub("", text))
        if i in tail_items:
            text = _MARKER_TAIL.sub("", text)
        text = text.strip()
        if text:
            out.append(with_text(block, text))
    return out
