"""The raw block every format parser produces, and the text predicates the cleaning stages share.

A raw block is a heading, paragraph or list item before furniture removal. Its `text` is the
visible text, whitespace-collapsed and without its list marker, so every later stage can work on
plain strings whatever the page's format was.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from groundedqa.ingest.models import BlockKind

__all__ = [
    "TWO_SENTENCES",
    "ParsedPage",
    "RawBlock",
    "ends_sentence",
    "n_words",
    "runs",
    "squash",
    "strip_decoration",
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


@dataclass
class ParsedPage:
    """What a format parser returns: the page's raw blocks, in reading order."""

    blocks: list[RawBlock]
    title: str | None = None  # the page's own title element (HTML <h1> / <title>), if it has one
    # Headings come from markup (<h2>, "## "). Plain text only guesses them from line shapes, so
    # a citation's title can look like a heading and the first heading is taken as the title.
    marked_headings: bool = True


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
