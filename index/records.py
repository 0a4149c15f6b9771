"""Plain records the index stores and hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from groundedqa.ingest.models import SPAN_KINDS, Chunk, PageRange, Skipped, Span

#: A span kind's stored code is its position in SPAN_KINDS.
KIND_CODES: dict[str, int] = {kind: code for code, kind in enumerate(SPAN_KINDS)}
KIND_NAMES: dict[int, str] = {code: kind for kind, code in KIND_CODES.items()}
#: Block kinds in the order of their stored codes (a build without them reads as paragraphs).
BLOCK_KINDS: tuple[str, ...] = ("paragraph", "list_item", "heading")
BLOCK_CODES: dict[str, int] = {kind: code for code, kind in enumerate(BLOCK_KINDS)}


@dataclass
class StoredDocument:
    """What the index keeps of a document besides its spans: cleaned text and metadata."""

    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any]
    references: list[str]
    content_hash: str
    source: str
    # Where each source page's text lies in `text` (PDF); empty for formats without pages.
    pages: list[PageRange] = field(default_factory=list)


@dataclass
class DocData(StoredDocument):
    """A document with its spans, chunks and vectors: what a build writes, and reuses."""

    spans: list[Span] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    block_kinds: list[str] = field(default_factory=list)  # kind of each CleanDoc block, by index
    passage_vectors: np.ndarray | None = None  # (len(chunks), dim)
    sentence_vectors: np.ndarray | None = None  # (len(spans), dim)
    title_vector: np.ndarray | None = None  # (dim,)
    # Parts of the source left out (a scanned page): reported when the document is prepared,
    # not stored.
    skipped_parts: list[Skipped] = field(default_factory=list)


@dataclass
class DocumentRecord(StoredDocument):
    """A stored document as served by /v1/documents/{doc_id}; `idx` is its row in the build."""

    idx: int = -1


@dataclass
class SentenceRecord:
    """A stored span: `document.text[start:end] == text`."""

    idx: int
    doc_idx: int
    doc_id: str
    start: int
    end: int
    text: str
    kind: str
    block: int = 0
    page: int | None = None  # source page the span starts on (PDF); None without pages
