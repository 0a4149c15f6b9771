"""Plain records passed between the ingest stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

SourceFormat = Literal["text", "markdown", "html", "pdf", "docx"]
BlockKind = Literal["heading", "paragraph", "list_item"]
# A span's stored code is its kind's position here: new kinds go at the end, never in between.
SpanKind = Literal[
    "sentence",  # article content: the only kind an answer may quote
    "heading",
    "label",  # "Walking:" before its sentence
    "question",  # the article's own questions introduce answers; they are not answers
    "call_to_action",  # "Contact us today to book ...", "ask us!"
    "promotion",  # "At <clinic>, we ...", "Our team is dedicated to ...", testimonials
    "meta",  # the article about itself: "In this post ...", "Here's what you need to know."
    "disclaimer",  # the site's own "this is not medical advice"
    "byline",  # author, date and reviewed-by lines
    "residue",  # figure and table captions, image credits, lone numbers, bare URLs
]
SPAN_KINDS: tuple[SpanKind, ...] = get_args(SpanKind)
#: Sentences that are not the article's content: never quoted, never embedded as answers.
NON_CONTENT_KINDS: frozenset[SpanKind] = frozenset(
    {"call_to_action", "promotion", "meta", "disclaimer", "byline", "residue"}
)


@dataclass
class SourceDoc:
    """One article as a loader found it, before cleaning."""

    doc_id: str
    raw: str | bytes  # bytes for the binary formats (PDF, DOCX), which their parser decodes
    format: SourceFormat
    source: str  # where it came from: a path, or "path:line" for JSONL
    metadata: dict[str, Any] = field(default_factory=dict)  # title, url, publisher ...; unknown = None


@dataclass
class Skipped:
    """A file or record the build passed over, and why (shown in the ingest summary)."""

    source: str
    reason: str


@dataclass
class Block:
    """A structural unit of the cleaned text: `CleanDoc.text[start:end]`."""

    kind: BlockKind
    start: int
    end: int
    level: int = 0  # heading level (1 = top); 0 for non-headings


@dataclass
class PageRange:
    """The part of `CleanDoc.text` that came from one page of the source (PDF pages, 1-based)."""

    page: int
    start: int
    end: int


@dataclass
class CleanDoc:
    """An article with page furniture removed.

    `text` is the kept blocks joined by blank lines. Every sentence inside it stands verbatim in the
    source (whitespace aside): cleaning drops lines, blocks, bullets and trailing reference markers,
    never characters inside a kept sentence.
    """

    text: str
    blocks: list[Block]
    title: str | None = None
    references: list[str] = field(default_factory=list)  # the article's own reference list
    # Where each source page's text lies in `text`, in order; empty for formats without pages.
    pages: list[PageRange] = field(default_factory=list)
    # Parts of the source left out with their reason ("page 3 not indexed: no text layer ...").
    notes: list[str] = field(default_factory=list)


@dataclass
class Span:
    """A segment of `CleanDoc.text`; `text == doc.text[start:end]` always holds."""

    start: int
    end: int
    text: str
    kind: SpanKind = "sentence"  # only "sentence" spans may be picked for an answer
    block: int = 0  # index into CleanDoc.blocks
    page: int | None = None  # source page the span starts on (PDF); None without pages


@dataclass
class Chunk:
    """A sentence-aligned passage: the quoted span plus the text that is embedded for it."""

    ordinal: int
    start: int
    end: int
    first_span: int  # index of the first span (into the doc's span list)
    last_span: int  # inclusive
    heading_path: list[str]
    embed_text: str  # title + heading path + passage text; never quoted
