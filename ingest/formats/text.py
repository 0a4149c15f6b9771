"""Plain text: blocks from line shapes, since nothing marks headings or lists.

Blank lines separate blocks; hard-wrapped lines are joined; bulleted or indented lines are list
items; a short unpunctuated line is a heading when it stands alone or is Title Case and body text
follows it. Markdown paragraphs and HTML lines split by <br> go through the same rules.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from groundedqa.ingest.blocks import (
    TWO_SENTENCES,
    ParsedPage,
    RawBlock,
    ends_sentence,
    n_words,
    squash,
    strip_decoration,
)
from groundedqa.ingest.boilerplate import is_furniture_heading, is_references_heading
from groundedqa.ingest.models import BlockKind

__all__ = ["parse"]

_MAX_HEADING_WORDS = 12
_MAX_TITLE_WORDS = 30

_ANY_END_PUNCT = re.compile(r"[.,;:!][\"'”’)\]]*$")
_LABEL = re.compile(r"^[A-Z][\w'’/&()+ -]{0,40}:\s+\S")  # "Walking: Walking is ..."
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SMALL_WORDS = frozenset(
    "a an the and or but nor of to in on at for with by from as vs via into onto per than "
    "after before over under about up out off is are be your my our you i it its".split()
)


def _is_title_case(text: str, min_words: int = 2) -> bool:
    words = _WORD.findall(text)
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    if len(words) < min_words or not significant:
        return False
    capitalised = sum(w[0].isupper() for w in significant)
    return capitalised / len(significant) >= 0.75


def _starts_like_heading(text: str) -> bool:
    return bool(text) and (text[0].isupper() or text[0].isdigit()) and any(c.isalpha() for c in text)


def _is_heading_candidate(text: str) -> bool:
    """A short line that could be a heading: no closing sentence punctuation ("?" is allowed)."""
    return (
        1 <= n_words(text) <= _MAX_HEADING_WORDS
        and len(text) <= 100
        and _starts_like_heading(text)
        and not _ANY_END_PUNCT.search(text)
        and not TWO_SENTENCES.search(text)
    )


def _is_title_candidate(text: str) -> bool:
    # A page's first line may be a long question ("Is it safe for a patient with ... ?").
    return (
        n_words(text) <= _MAX_TITLE_WORDS
        and len(text) <= 250
        and _starts_like_heading(text)
        and not _ANY_END_PUNCT.search(text)
        and not re.search(r"[.!]\s+[A-Z]", text)  # "Title? Subtitle" is fine, two statements are not
    )


_INLINE_BULLETS = re.compile(r"\s{2,}(?:[-*•–]|\d{1,2}[.)])\s+")
_BULLET = re.compile(
    r"""^(?:
        [•◦▪▫‣⁃∙·●○■□➢➤►▸▹→✓✔✗✘]\s*      # symbol bullets
      | [-*+–—](?:\s+|(?=[A-Z]))           # dash bullets, also "-Quadriceps: ..."
      | \(?\d{1,2}[.)]\s+                  # 1.  2)  (3)
      | \(?[a-zA-Z]\)\s+                   # a)  (b)
    )""",
    re.X,
)


@dataclass
class _Group:
    """Consecutive source lines that form one block candidate."""

    text: str
    bulleted: bool = False
    indented: bool = False
    last_line_len: int = 0
    chunk_single: bool = False  # its blank-line-separated chunk holds nothing else
    chunk_end: bool = False  # a blank line (or the end) follows it


def _chunks(raw: str) -> list[list[str]]:
    """Split text into runs of non-blank lines (blank lines separate blocks)."""
    chunks: list[list[str]] = []
    current: list[str] = []
    for line in raw.expandtabs(4).splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _looks_wrapped(chunk: list[str]) -> bool:
    """A hard-wrapped paragraph: most continuation lines start mid-sentence (lowercase)."""
    continuations = [line.strip() for line in chunk[1:] if not _BULLET.match(line.strip())]
    lower = sum(1 for line in continuations if line[:1].islower())
    return lower >= 1 and lower * 2 >= len(continuations)


def _joins_previous(prev: _Group, line: str, wrapped: bool, width: int) -> bool:
    if not prev.text:  # a bullet alone on its line: its text follows
        return True
    if line[:1].islower() and not re.search(r"[.!?:][\"'”’)\]]*$", prev.text):
        return True
    # In a wrapped paragraph a line ending a sentence still continues, unless it is a short
    # line of its own (a heading above the paragraph).
    return wrapped and prev.last_line_len >= 0.6 * width


def _groups(chunks: list[list[str]]) -> list[_Group]:
    """Turn chunks of lines into groups: bullets start items, wrapped lines are joined."""
    # Indentation means "list item" only relative to the page's usual body indentation: some
    # pages indent every paragraph.
    indents = Counter(
        len(line) - len(line.lstrip())
        for chunk in chunks
        for line in chunk
        if not _BULLET.match(line.strip())
    )
    base = min(indents, key=lambda indent: (-indents[indent], indent), default=0)
    out: list[_Group] = []
    for chunk in chunks:
        wrapped = _looks_wrapped(chunk)
        width = max(len(line.strip()) for line in chunk)
        groups: list[_Group] = []
        for line in chunk:
            text = line.strip()
            bullet = _BULLET.match(text)
            if bullet:
                # Flattened lists put several items on one line: "- Rest.  - Ice.  - Elevate."
                for item in _INLINE_BULLETS.split(text[bullet.end() :]):
                    groups.append(_Group(strip_decoration(item), bulleted=True, last_line_len=len(text)))
            elif groups and _joins_previous(groups[-1], text, wrapped, width):
                groups[-1].text = f"{groups[-1].text} {text}".strip()
                groups[-1].last_line_len = len(text)
            else:
                indent = len(line) - len(line.lstrip()) - base
                groups.append(_Group(strip_decoration(text), indented=indent > 0, last_line_len=len(text)))
        groups = [g for g in groups if g.text]
        for g in groups:
            g.text = squash(g.text)
            g.chunk_single = len(groups) == 1
        if groups:
            groups[-1].chunk_end = True
        out.extend(groups)
    return out


def _followed_by_body(group: _Group, nxt: _Group | None) -> bool:
    if nxt is None or group.chunk_end:
        return True
    return not _is_heading_candidate(nxt.text) and not nxt.text.endswith("?")


def _kind_of(
    group: _Group, nxt: _Group | None, first: bool, list_style: str | None, compact_list: bool
) -> BlockKind:
    """Classify one line group of a plain-text page.

    Bulleted or indented lines are list items. The first line is the title when it is
    heading-shaped (up to 30 words, no closing punctuation but "?"). A short line without closing
    punctuation is a heading when it stands alone between blank lines, or when it is Title Case or
    a question and body text follows it. After a line ending in ":", unpunctuated or "Label: text"
    lines are list items until a heading-like line introduces new body text.
    """
    text = group.text
    if group.bulleted or group.indented:
        return "list_item"
    if first and nxt is not None and _is_title_candidate(text):
        return "heading"
    # A list written as consecutive lines ends where a line stands alone between blank lines.
    in_plain_list = list_style == "open" or (
        list_style == "plain" and not (compact_list and group.chunk_single)
    )
    if not _is_heading_candidate(text):
        if in_plain_list and (_LABEL.match(text) or not ends_sentence(text)):
            return "list_item"
        return "paragraph"
    if is_furniture_heading(text) or is_references_heading(text):
        return "heading"
    strong = text.endswith("?") or _is_title_case(text)
    if in_plain_list:
        # "Fever" after "Symptoms include:" is an item; a Title Case or question line that
        # introduces body text ends the list.
        strong = text.endswith("?") or _is_title_case(text, min_words=3)
        return "heading" if strong and _followed_by_body(group, nxt) else "list_item"
    if nxt is None:  # nothing follows: a heading needs a section under it
        return "paragraph"
    if group.chunk_single:
        return "heading"
    return "heading" if strong and _followed_by_body(group, nxt) else "paragraph"


def _classify(groups: list[_Group], doc_start: bool) -> list[RawBlock]:
    """Give each group a block kind, tracking whether a list is open ("...include:")."""
    out: list[RawBlock] = []
    list_style: str | None = None  # None | "open" (after a colon) | "bullet" | "plain"
    compact_list = False  # the open plain list's items share one chunk
    for i, group in enumerate(groups):
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        kind = _kind_of(group, nxt, doc_start and i == 0, list_style, compact_list)
        compact_list = kind == "list_item" and not group.chunk_single
        level = (1 if doc_start and i == 0 else 2) if kind == "heading" else 0
        out.append(RawBlock(kind, group.text, level, bulleted=group.bulleted))
        if kind == "list_item":
            if list_style in (None, "open"):
                list_style = "bullet" if group.bulleted else "plain"
        elif kind == "paragraph" and group.text.endswith(":"):
            list_style = "open"
        else:
            list_style = None
    return out


def parse(raw: str, *, doc_start: bool = True) -> ParsedPage:
    """Blocks of a plain-text page; `doc_start` when `raw` opens the page (its first line may be
    the title)."""
    return ParsedPage(_classify(_groups(_chunks(raw)), doc_start), marked_headings=False)
