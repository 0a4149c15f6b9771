"""The raw block every format parser produces, and the text predicates the cleaning stages share.

A raw block is a heading, paragraph or list item before furniture removal. Its `text` is the
visible text, whitespace-collapsed and without its list marker, so every later stage can work on
plain strings whatever the page's format was.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from groundedqa.ingest.models import BlockKind

__all__ = [
    "TWO_SENTENCES",
    "ParsedPage",
    "RawBlock",
    "UnreadableSource",
    "ends_sentence",
    "n_words",
    "runs",
    "squash",
    "strip_decoration",
    "with_text",
]


@dataclass
class RawBlock:
    """A block before furniture removal; `text` is whitespace-collapsed, list marker removed."""

    kind: BlockKind
    text: str
    level: int = 0
    bulleted: bool = False  # carried an explicit list marker (or was an <li> / markdown item)
    link_ratio: float = 0.0  # share of visible characters inside links (HTML / markdown)
    had_content: bool = False  # heading: its section had body blocks before cleaning
    page: int | None = None  # source page the block starts on (PDF); None without pages
    # (offset into `text`, page) where the block runs on to a later page: a paragraph that
    # crosses a page break stays one block, so its sentences stay whole.
    page_breaks: tuple[tuple[int, int], ...] = ()


@dataclass
class ParsedPage:
    """What a format parser returns: the page's raw blocks, in reading order."""

    blocks: list[RawBlock]
    title: str | None = None  # the page's own title element (HTML <h1> / <title>), if it has one
    # Headings come from markup (<h2>, "## "). Plain text only guesses them from line shapes, so
    # a citation's title can look like a heading and the first heading is taken as the title.
    marked_headings: bool = True
    # Parts of the file the parser left out, each with its reason (e.g. a scanned PDF page).
    notes: list[str] = field(default_factory=list)


class UnreadableSource(ValueError):
    """A file its format's parser cannot read (corrupt, encrypted, no text layer); the message is
    the reason shown in the ingest summary."""


def with_text(block: RawBlock, text: str) -> RawBlock:
    """`block` with its text replaced by an edited version of it (characters cut, whitespace
    changed), its page breaks moved to the same characters in the new text."""
    if not block.page_breaks or text == block.text:
        return replace(block, text=text)
    matcher = difflib.SequenceMatcher(None, block.text, text, autojunk=False)
    blocks = matcher.get_matching_blocks()

    def moved(offset: int) -> int:
        # The first kept character at or after `offset` starts the page in the new text.
        for old, new, size in blocks:
            if old + size > offset:
                return new + max(0, offset - old)
        return len(text)

    breaks = tuple((moved(offset), page) for offset, page in block.page_breaks)
    return replace(block, text=text, page_breaks=tuple(b for b in breaks if b[0] < len(text)))


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
TWO_SENTENCES = re.compile(r"[.!?]\s+[A-Z]")


def squash(text: str) -> str:
    """`text` with every run of whitespace collapsed to one space, stripped."""
    return " ".join(text.split())


def n_words(text: str) -> int:
    """Whitespace-separated words in `text`."""
    return len(text.split())


def ends_sentence(text: str) -> bool:
    """`text` ends with sentence punctuation, closing quotes or brackets allowed."""
    return bool(_SENTENCE_END.search(text))


_DECORATION_CATEGORIES = frozenset({"So", "Sm", "Sk", "Cf", "Mn"})


def strip_decoration(text: str) -> str:
    """Drop leading symbols (⊗, ✓, emoji): they stand outside the sentence. ASCII is kept ("< 5%")."""
    i = 0
    while i < len(text) and (
        text[i].isspace() or (ord(text[i]) > 127 and unicodedata.category(text[i]) in _DECORATION_CATEGORIES)
    ):
        i += 1
    return text[i:]


def runs(blocks: list[RawBlock], member: Callable[[RawBlock], bool]) -> list[tuple[int, int]]:
    """Maximal [start, end) index ranges of consecutive blocks satisfying `member`."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(blocks):
        if member(blocks[i]):
            j = i
            while j < len(blocks) and member(blocks[j]):
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans
