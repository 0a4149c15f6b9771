"""Sentence-aligned, heading-aware passages for retrieval.

A passage is a run of consecutive non-heading spans inside one section. Its quoted range
(`doc.text[start:end]`) holds article sentences only; the title and heading path go into the
embedded text, so a heading can help retrieval without ever being quoted as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from groundedqa.ingest.models import Chunk, CleanDoc, Span


@dataclass
class _Section:
    """Heading stack of the current position: (level, heading text), outermost first."""

    stack: list[tuple[int, str]] = field(default_factory=list)

    def enter(self, level: int, heading: str) -> None:
        """A heading closes every open heading at its level or deeper, then opens itself."""
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        self.stack.append((level, heading))

    @property
    def path(self) -> list[str]:
        """Heading texts from the outermost to the current one."""
        return [heading for _, heading in self.stack]


def chunk(
    doc: CleanDoc,
    spans: list[Span],
    *,
    title: str | None,
    max_chars: int = 900,
    overlap: int = 1,
) -> list[Chunk]:
    """Group `spans` (from `segment_doc(doc)`) into passages, in document order.

    A passage never crosses a heading. It is closed when the next span would take its quoted
    text past `max_chars`, but always holds at least one span; the next passage in the same
    section then repeats its last `overlap` spans, provided it had more than `overlap` spans and
    the repeat still fits. `first_span`/`last_span` are inclusive indexes into `spans`.
    Passages without a "sentence" span (only headings, or a lone label) are not emitted, so a
    document without sentences yields no chunks; ordinals count the emitted chunks from 0.
    """
    section = _Section()
    chunks: list[Chunk] = []
    first: int | None = None  # index of the current passage's first span

    def close(lo: int, hi: int) -> None:
        if any(spans[j].kind == "sentence" for j in range(lo, hi + 1)):
            chunks.append(_make_chunk(doc, spans, lo, hi, len(chunks), section.path, title))

    for i, span in enumerate(spans):
        if span.kind == "heading":
            if first is not None:
                close(first, i - 1)
                first = None
            section.enter(_heading_level(doc, span), span.text)
        elif first is None:
            first = i
        elif span.end - spans[first].start > max_chars:
            close(first, i - 1)
            first = _restart(spans, first, i, max_chars, overlap)
    if first is not None:
        close(first, len(spans) - 1)
    return chunks


def _restart(spans: list[Span], first: int, i: int, max_chars: int, overlap: int) -> int:
    """First span of the passage after one that ran from `first` to `i - 1`, given span `i`."""
    count = i - first
    if overlap <= 0 or count <= overlap:  # repeating the whole passage would never advance
        return i
    start = i - overlap
    # A repeat that cannot fit beside the new span would make the passage overlong.
    return start if spans[i].end - spans[start].start <= max_chars else i


def _heading_level(doc: CleanDoc, span: Span) -> int:
    """Level of the heading block behind `span`; unknown levels count as top level."""
    if 0 <= span.block < len(doc.blocks):
        return max(doc.blocks[span.block].level, 1)
    return 1


def _make_chunk(
    doc: CleanDoc,
    spans: list[Span],
    first: int,
    last: int,
    ordinal: int,
    path: list[str],
    title: str | None,
) -> Chunk:
    """One passage from span `first` to span `last` (inclusive)."""
    start, end = spans[first].start, spans[last].end
    return Chunk(
        ordinal=ordinal,
        start=start,
        end=end,
        first_span=first,
        last_span=last,
        heading_path=list(path),
        embed_text=_embed_text(title, path, doc.text[start:end]),
    )


def _embed_text(title: str | None, path: list[str], passage: str) -> str:
    """Title, heading path and passage, one per line, skipping empty parts.

    A heading equal to the title (articles often repeat it as their first heading) is left
    out of the embedded path so it is not weighted twice.
    """
    title = (title or "").strip()
    headings = [h for h in path if h.strip() and h.strip().casefold() != title.casefold()]
    parts = [title, " > ".join(headings), passage]
    return "\n".join(part for part in parts if part)
