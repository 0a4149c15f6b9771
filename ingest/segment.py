"""Sentence segmentation with exact character offsets.

Every span satisfies ``text[span.start:span.end] == span.text`` with no surrounding whitespace:
answers quote these spans verbatim, so offsets are computed here from the source text and never
taken from pysbd (whose ``char_span`` offsets are wrong when a sentence repeats).

Speed: pysbd costs about 4 microseconds a character, and its abbreviation pass rescans the
whole input for every abbreviation-like word in it. So each line is first cut at boundaries
pysbd would also make ("lowercase word. Capital", outside brackets and quotes), and only pieces
that still hold sentence punctuation inside them go through pysbd. On MedQuAD this keeps
pysbd's output (or improves it, e.g. after "(See ... summary.)") at about a tenth of the cost.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

import pysbd

from groundedqa.ingest.models import Block, CleanDoc, Span

Bounds = tuple[int, int]  # [start, end) into the text being segmented

# Building a Segmenter is cheap in pysbd 0.3.4, but one shared instance keeps it that way.
_SEGMENTER = pysbd.Segmenter(language="en", clean=False)

try:  # pysbd's own list, so that the pre-split never cuts where pysbd would keep an abbreviation
    from pysbd.lang.english import English as _English

    _ABBREVIATIONS = frozenset(a.strip().lower() for a in _English.Abbreviation.ABBREVIATIONS)
except (ImportError, AttributeError):  # pragma: no cover - layout of a future pysbd
    _ABBREVIATIONS = frozenset({"al", "dr", "etc", "fig", "mr", "mrs", "ms", "no", "st", "vs"})

_LINE = re.compile(r"[^\n]+")

# A boundary pysbd reliably makes: a lowercase word (not an abbreviation, not after a period as in
# "e.g.") ending a sentence, then whitespace and a capital, optionally behind an inline "- " bullet.
_SAFE_BOUNDARY = re.compile(
    r"(?<![.\w])([a-z]{2,})[)\]\"”’']?[.!?][\"”’')\]]*\s+(?=(?:[-•*]\s+)?[A-Z])"
)

# Anything that might make pysbd split a piece: sentence punctuation before its end, or an
# enumerator like "a)", "(b)", "iv)", "2)" that pysbd treats as a list item.
_MAY_SPLIT = re.compile(r"[.!?…•]|(?:^|[\s(])(?:[A-Za-z]|[ivxIVX]{1,4}|\d{1,2})\)")
_TERMINALS = ".!?…"
_CLOSERS = "\"'”’)]"

# Fragments pysbd may leave behind that cannot stand alone as a sentence.
_LIST_MARKER = re.compile(r"\(?(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)]|[A-Z][a-z]{1,9}\s+\d{1,3}\.")
_DANGLING_END = re.compile(
    r"(?:[<>=≤≥]\s*\.?"  # "p < ." cut off from its number
    r"|\b(?:approx|ca|cf|dr|drs|mr|mrs|ms|prof|figs?|vs|e\.g|i\.e|incl|esp|viz)\.)$",
    re.IGNORECASE,
)
# Reference markers between sentences: "... pain. 1 Specifically, ...", "... treat. [2] Patients"
# or "... surgery. 4" at the end of a line.
_CITATION = r"\d{1,2}(?:\s*,\s*\d{1,2})*"
_BRACKETED = r"\[\d{1,4}(?:\s*[,–-]\s*\d{1,4})*\]"
_LEADING_CITATION = re.compile(
    rf"(?:{_CITATION}|{_BRACKETED}(?:\s*{_BRACKETED})*)\s+(?=[\"“(]?[A-Z])"
)
_TRAILING_CITATION = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+" + _CITATION + "$")
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*$")
_CLAUSE_ENDS = frozenset(_TERMINALS + _CLOSERS + ":;")
_TAIL = 24  # longest text the end-anchored patterns above can match; they only search this far back
_WHITESPACE = re.compile(r"\s")
_TWO_LETTERS = re.compile(r"[^\W\d_].*[^\W\d_]", re.DOTALL)

# "Walking: Walking is ..." -> label "Walking:". At most four words, capitalised, and the text
# after it must start like a sentence, so "The good news: most people recover" stays one sentence.
_LABEL = re.compile(r"[A-Z][\w'’&/+-]*(?:[ \t]+[\w'’&/+()-]+){0,3}:(?=[ \t]+[\"“(]?[A-Z0-9])")


def segment(text: str) -> list[Span]:
    """Split one block of prose into sentence spans with offsets into `text`.

    Newlines are hard boundaries (so list items and headings without periods are sentences of
    their own); spans are in order, never overlap, carry no outer whitespace and all have
    kind "sentence" and block 0.
    """
    return [Span(s, e, text[s:e]) for s, e in _sentences(text, 0, len(text))]


def segment_doc(doc: CleanDoc) -> list[Span]:
    """All spans of a cleaned document, offsets into `doc.text`, in document order.

    A heading block is one "heading" span. Paragraphs and list items are segmented into
    "sentence" spans; a short leading label such as "Walking:" becomes its own "label" span.
    A document without blocks is segmented as one paragraph (block 0). Each span's `page` is
    the source page it starts on, when the document has pages.
    """
    text = doc.text
    blocks = doc.blocks or [Block("paragraph", 0, len(text))]
    spans: list[Span] = []
    for index, block in enumerate(blocks):
        if block.kind == "heading":
            start, end = _strip(text, block.start, block.end)
            if start < end:
                spans.append(Span(start, end, text[start:end], "heading", index))
            continue
        for kind, start, end in _prose_spans(text, block.start, block.end):
            spans.append(Span(start, end, text[start:end], kind, index))
    if doc.pages:
        starts = [p.start for p in doc.pages]
        for span in spans:
            span.page = doc.pages[max(bisect_right(starts, span.start) - 1, 0)].page
    return spans


def _prose_spans(text: str, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of the label and sentence spans in text[start:end], line by line."""
    for line_start, line_end in _lines(text, start, end):
        label = _LABEL.match(text, line_start, line_end)
        if label:
            yield "label", line_start, label.end()
            line_start = label.end()
        for s, e in _sentences(text, line_start, line_end):
            yield "sentence", s, e


def _sentences(text: str, start: int, end: int) -> list[Bounds]:
    """Sentence bounds within text[start:end]; each line is segmented on its own."""
    out: list[Bounds] = []
    for line_start, line_end in _lines(text, start, end):
        line = text[line_start:line_end]
        fragments = [f for p in _pieces(line) for f in _split_piece(line, *p)]
        sentences = _drop_citations(line, _merge_fragments(line, fragments))
        out.extend((line_start + s, line_start + e) for s, e in sentences)
    return out


def _lines(text: str, start: int, end: int) -> Iterator[Bounds]:
    """Bounds of the non-blank lines of text[start:end], stripped of outer whitespace."""
    for match in _LINE.finditer(text, start, end):
        s, e = _strip(text, match.start(), match.end())
        if s < e:
            yield s, e


def _strip(text: str, start: int, end: int) -> Bounds:
    """text[start:end] without leading and trailing whitespace, as bounds (str.strip semantics)."""
    chunk = text[start:end]
    left = len(chunk) - len(chunk.lstrip())
    right = len(chunk.rstrip())
    return (start + left, start + right) if right > left else (start, start)


def _pieces(line: str) -> list[Bounds]:
    """Cut a stripped line at boundaries pysbd would also make, outside brackets and quotes."""
    pieces: list[Bounds] = []
    start = scanned = 0
    parens = curly = 0
    straight_open = False
    for match in _SAFE_BOUNDARY.finditer(line):
        seen = line[scanned:match.end()]
        scanned = match.end()
        # Running counts keep this linear; clamping at zero forgives enumerators like "a)".
        parens = max(0, parens + seen.count("(") - seen.count(")"))
        curly = max(0, curly + seen.count("“") - seen.count("”"))
        straight_open ^= seen.count('"') % 2 == 1
        if match.group(1) in _ABBREVIATIONS or parens or curly or straight_open:
            continue
        pieces.append(_strip(line, start, match.end()))
        start = match.end()
    pieces.append(_strip(line, start, len(line)))
    return [p for p in pieces if p[0] < p[1]]


def _split_piece(line: str, start: int, end: int) -> list[Bounds]:
    """Sentence bounds within one piece: the piece itself unless pysbd might split it."""
    piece = line[start:end]
    if not _MAY_SPLIT.search(_without_final_mark(piece)):
        return [(start, end)]
    return [(start + s, start + e) for s, e in _locate(piece, _pysbd_sentences(piece))]


def _pysbd_sentences(text: str) -> list[str]:
    """pysbd's sentences for `text`, possibly normalised or missing text (see `_locate`).

    `Segmenter.segment()` would re-find each sentence with a freshly compiled regex to build
    char spans we do not trust anyway; that costs a third of pysbd's time and evicts pysbd's
    own patterns from the `re` cache. The processor alone yields the same sentences.
    """
    return _SEGMENTER.processor(text).process()


def _without_final_mark(piece: str) -> str:
    """`piece` minus its sentence-final punctuation and closing quotes or brackets, if any."""
    core = piece.rstrip(_CLOSERS)
    body = core.rstrip(_TERMINALS)
    return body if len(body) < len(core) else piece


def _locate(text: str, segments: list[str]) -> list[Bounds]:
    """Find pysbd's segments in `text` in order; text pysbd altered or dropped is kept as-is.

    A segment not found verbatim is skipped, and any non-blank gap between found segments (or
    after the last one) becomes a span of its own, so every span is real text from `text`.
    """
    bounds: list[Bounds] = []
    cursor = 0
    for segment in segments:
        needle = segment.strip()
        if not needle:
            continue
        at = text.find(needle, cursor)
        if at < 0:
            continue
        _append_gap(text, cursor, at, bounds)
        bounds.append((at, at + len(needle)))
        cursor = at + len(needle)
    _append_gap(text, cursor, len(text), bounds)
    return bounds


def _append_gap(text: str, start: int, end: int, bounds: list[Bounds]) -> None:
    """Append text[start:end] to `bounds` if it holds anything but whitespace."""
    s, e = _strip(text, start, end)
    if s < e:
        bounds.append((s, e))


def _merge_fragments(text: str, fragments: list[Bounds]) -> list[Bounds]:
    """Glue fragments that cannot stand alone onto a neighbour within the same line.

    A list marker ("2."), a cut-off "p < ." or "approx.", or a lone word such as "Step" (pysbd
    splits "Step 1. Do this") joins the next fragment; other fragments with fewer than two
    letters ("1", "'", ")") join the previous one. Merged bounds cover the original text between
    the fragments, so the offset identity still holds.
    """
    merged: list[Bounds] = []
    carry: int | None = None  # start of a fragment waiting to be glued onto the next one
    for i, (s, e) in enumerate(fragments):
        fragment = text[s:e]
        start = s if carry is None else carry
        carry = None
        has_next = i + 1 < len(fragments)
        if has_next and (_leads_into_next(fragment) or (not merged and _too_short(fragment))):
            carry = start
        elif merged and _too_short(fragment):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((start, e))
    return merged


def _leads_into_next(fragment: str) -> bool:
    """True for fragments that are the beginning of the following sentence."""
    if _LIST_MARKER.fullmatch(fragment) or _DANGLING_END.search(fragment, len(fragment) - _TAIL):
        return True
    return fragment[-1] not in _CLAUSE_ENDS and not _WHITESPACE.search(fragment)


def _too_short(fragment: str) -> bool:
    """True for fragments with fewer than two letters: a stray number, quote or bracket."""
    return _TWO_LETTERS.search(fragment) is None


def _drop_citations(text: str, sentences: list[Bounds]) -> list[Bounds]:
    """Leave reference markers between sentences out of both neighbours.

    pysbd puts the "1" of "... radiculopathy. 1 Specifically, ..." (or a "[2]") at the start of
    the next sentence, and keeps "... treatment. 4" whole; a quoted sentence should hold
    neither. Only markers right after a sentence-final mark are taken, so "Type 2" or
    "(p < .01) 1" stay as they are.
    """
    out: list[Bounds] = []
    for s, e in sentences:
        if out and _SENTENCE_END.search(text, max(out[-1][0], out[-1][1] - _TAIL), out[-1][1]):
            marker = _LEADING_CITATION.match(text, s, e)
            if marker:
                s = marker.end()
        trailing = text[e - 1].isdigit() and _TRAILING_CITATION.search(text, max(s, e - _TAIL), e)
        if trailing:
            e = trailing.start()
        out.append((s, e))
    return out
