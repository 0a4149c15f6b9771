"""Word (.docx): one block per body paragraph, headings and list items from the file's own
styles (python-docx, MIT).

- Headings: a paragraph whose style (or a style it is based on) has an outline level, as Word's
  "Heading 1-9" do, or is named "Heading N"; the "Title" style is level 1 and pushes the
  headings one level down. A short paragraph typed in bold throughout, without closing
  punctuation, is a heading one level below the deepest styled one (leaflets often fake headings
  so).
- List items: a paragraph with list numbering (its own or its style's, as "List Bullet" has) or a
  "List ..." style. Word draws the bullet or number itself, so the text never holds it.
- Tables are left out and named in `notes`, as for PDF: a row quoted without its table is a
  fragment. The page header and footer live outside the body and are never read; nor are text
  boxes, comments or footnotes.
- A paragraph with manual line breaks goes through the plain-text rules, like HTML with <br>.

Word files carry no fixed pages, so blocks have no page.
"""

from __future__ import annotations

import io
import re
from typing import Any

from groundedqa.ingest.blocks import ParsedPage, RawBlock, UnreadableSource, n_words, squash
from groundedqa.ingest.formats import text as text_format

__all__ = ["parse"]

_HEADING_NAME = re.compile(r"heading\s*(\d)", re.IGNORECASE)
_MAX_BOLD_HEADING_WORDS = 12
_BODY_OUTLINE_LEVEL = 9  # Word's outline level for body text


def parse(raw: bytes) -> ParsedPage:
    """Blocks of a .docx body in document order; tables left out (named in `notes`).

    Raises `UnreadableSource` for a file that is not a Word document or has no body text.
    """
    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - zipfile, lxml and python-docx each raise their own
        raise UnreadableSource(f"not a readable Word (.docx) file ({type(exc).__name__}: {exc})") from exc
    paragraphs: list[tuple[Any, int | None, bool]] = []  # (paragraph, heading level, list item)
    tables = 0
    titled = False
    for item in document.iter_inner_content():
        if not hasattr(item, "runs"):  # a table
            tables += 1
            continue
        if not item.text.strip():
            continue
        level, is_title = _heading_level(item)
        titled = titled or is_title
        paragraphs.append((item, level, level is None and _is_list(item)))
    if not paragraphs:
        raise UnreadableSource("no text in the document body")
    notes = [f"{tables} table{'s' if tables > 1 else ''} left out (table rows are not quoted "
             "as sentences)"] if tables else []
    # A "Title" (level 0 here) is level 1, and the headings under it move one level down.
    levels = [None if level is None else 1 if level == 0 else min(level + titled, 6)
              for _, level, _ in paragraphs]
    deepest = max((level for level in levels if level is not None), default=1)
    blocks: list[RawBlock] = []
    for n, ((paragraph, _, listed), level) in enumerate(zip(paragraphs, levels)):
        text = paragraph.text.replace("\t", " ")
        if level is not None:
            blocks.append(RawBlock("heading", squash(text), level))
        elif listed:
            blocks.append(RawBlock("list_item", squash(text), bulleted=True))
        elif n + 1 < len(paragraphs) and _bold_heading(paragraph):
            blocks.append(RawBlock("heading", squash(text), min(deepest + 1, 6)))
        elif "\n" in text:
            blocks.extend(text_format.parse(text, doc_start=False).blocks)
        else:
            blocks.append(RawBlock("paragraph", squash(text)))
    title = (document.core_properties.title or "").strip() or None
    return ParsedPage([b for b in blocks if b.text], title=title, notes=notes)


def _styles(paragraph: Any) -> list[Any]:
    """The paragraph's style and the styles it is based on, nearest first."""
    chain = []
    style = paragraph.style
    while style is not None and style not in chain:
        chain.append(style)
        style = style.base_style
    return chain


def _heading_level(paragraph: Any) -> tuple[int | None, bool]:
    """(heading level from the file's styles, or None; the paragraph is a "Title").

    The level is 0 for a Title (the caller makes it 1), else outline level + 1 or the N of a
    "Heading N" style name.
    """
    from docx.oxml.ns import qn

    for owner in [paragraph._p, *(style.element for style in _styles(paragraph))]:
        ppr = owner.pPr
        found = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        if found is not None:
            value = int(found.get(qn("w:val"), _BODY_OUTLINE_LEVEL))
            return (value + 1, False) if value < _BODY_OUTLINE_LEVEL else (None, False)
    for style in _styles(paragraph):
        name = style.name or ""
        if name.lower() == "title":
            return 0, True
        match = _HEADING_NAME.fullmatch(name.strip())
        if match:
            return max(int(match.group(1)), 1), False
    return None, False


def _is_list(paragraph: Any) -> bool:
    """Numbered or bulleted by Word: list numbering on the paragraph or its style."""
    for owner in [paragraph._p, *(style.element for style in _styles(paragraph))]:
        ppr = owner.pPr
        if ppr is not None and ppr.numPr is not None:
            return True
    return any((style.name or "").lower().startswith("list") for style in _styles(paragraph))


def _bold_heading(paragraph: Any) -> bool:
    """A short paragraph in bold throughout, not ending like a sentence."""
    text = squash(paragraph.text)
    if n_words(text) > _MAX_BOLD_HEADING_WORDS or re.search(r"[.,;:!]$", text):
        return False
    style_bold = any(style.font.bold for style in _styles(paragraph))
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.bold or (run.bold is None and style_bold) for run in runs)
