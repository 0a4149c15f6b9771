"""Passage building: sections, heading paths, size limit, overlap, embed text (no model)."""

from __future__ import annotations

from groundedqa.ingest.chunk import chunk
from groundedqa.ingest.models import Chunk, CleanDoc, Span
from tests.builders import make_doc
from groundedqa.ingest.segment import segment_doc


def prose(n: int, topic: str = "exercise") -> str:
    """n distinct sentences of about 50 characters each."""
    return " ".join(f"Sentence number {i} is about {topic} and your back." for i in range(n))


def build(doc: CleanDoc, **kwargs) -> tuple[list[Span], list[Chunk]]:
    spans = segment_doc(doc)
    kwargs.setdefault("title", "Back Pain Guide")
    return spans, chunk(doc, spans, **kwargs)


def sentence_indexes(spans: list[Span], c: Chunk) -> list[int]:
    return [i for i in range(c.first_span, c.last_span + 1) if spans[i].kind == "sentence"]


def test_passages_never_cross_a_heading():
    doc = make_doc(
        ("heading", "Causes", 1), ("paragraph", prose(3)),
        ("heading", "Treatment", 1), ("paragraph", prose(3, "rest")),
    )
    spans, chunks = build(doc)
    assert len(chunks) == 2
    for c in chunks:
        assert all(spans[i].kind != "heading" for i in range(c.first_span, c.last_span + 1))
        quoted = doc.text[c.start:c.end]
        assert "Causes" not in quoted and "Treatment" not in quoted


def test_heading_path_follows_nested_levels():
    doc = make_doc(
        ("heading", "Back Pain", 1), ("paragraph", "Intro text here."),
        ("heading", "Exercise", 2), ("paragraph", "Walk daily."),
        ("heading", "Lifting", 3), ("paragraph", "Lift light."),
        ("heading", "Rest", 2), ("paragraph", "Sleep well."),
        ("heading", "Outlook", 1), ("paragraph", "Most recover."),
    )
    _, chunks = build(doc)
    assert [c.heading_path for c in chunks] == [
        ["Back Pain"],
        ["Back Pain", "Exercise"],
        ["Back Pain", "Exercise", "Lifting"],
        ["Back Pain", "Rest"],
        ["Outlook"],
    ]


def test_same_level_headings_give_a_one_heading_path():
    doc = make_doc(
        ("heading", "Causes", 1), ("paragraph", "Strain is common."),
        ("heading", "Treatment", 1), ("paragraph", "Rest helps."),
    )
    _, chunks = build(doc)
    assert [c.heading_path for c in chunks] == [["Causes"], ["Treatment"]]


def test_text_before_any_heading_has_an_empty_path():
    doc = make_doc(
        ("paragraph", "Opening words."), ("heading", "Causes", 1), ("paragraph", "Strain hurts."),
    )
    _, chunks = build(doc)
    assert chunks[0].heading_path == []


def test_consecutive_passages_of_a_long_section_overlap_by_one_sentence():
    doc = make_doc(("heading", "Exercise", 1), ("paragraph", prose(40)))
    spans, chunks = build(doc, max_chars=300, overlap=1)
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:]):
        shared = set(sentence_indexes(spans, prev)) & set(sentence_indexes(spans, nxt))
        assert shared == {prev.last_span} == {nxt.first_span}


def test_no_overlap_across_sections():
    doc = make_doc(
        ("heading", "Causes", 1), ("paragraph", prose(3)),
        ("heading", "Treatment", 1), ("paragraph", prose(3, "rest")),
    )
    _, chunks = build(doc, overlap=1)
    assert chunks[0].last_span < chunks[1].first_span


def test_zero_overlap_gives_disjoint_passages():
    doc = make_doc(("paragraph", prose(30)))
    _, chunks = build(doc, max_chars=300, overlap=0)
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.first_span == prev.last_span + 1


def test_no_passage_exceeds_max_chars_unless_single_sentence():
    long_sentence = "This single sentence is far longer than the limit " * 10 + "and ends here."
    doc = make_doc(("paragraph", prose(20)), ("paragraph", long_sentence), ("paragraph", prose(20)))
    spans, chunks = build(doc, max_chars=200)
    assert any(c.end - c.start > 200 for c in chunks)  # the long sentence is kept whole
    for c in chunks:
        if c.end - c.start > 200:
            assert c.first_span == c.last_span
            assert spans[c.first_span].text == long_sentence


def test_short_section_is_one_passage():
    doc = make_doc(("heading", "Causes", 1), ("paragraph", prose(3)), ("paragraph", prose(2)))
    spans, chunks = build(doc)
    assert len(chunks) == 1
    assert (chunks[0].first_span, chunks[0].last_span) == (1, len(spans) - 1)


def test_chunk_offsets_are_those_of_its_first_and_last_span():
    doc = make_doc(("heading", "Exercise", 1), ("paragraph", prose(20)))
    spans, chunks = build(doc, max_chars=250)
    for c in chunks:
        assert (c.start, c.end) == (spans[c.first_span].start, spans[c.last_span].end)


def test_embed_text_has_title_and_headings_but_quoted_span_does_not():
    doc = make_doc(
        ("heading", "Exercise Safety", 1), ("heading", "Dead-Hangs", 2),
        ("paragraph", "Hang for ten seconds. Rest between sets."),
    )
    _, chunks = build(doc, title="Back Pain Guide")
    (c,) = chunks
    assert c.embed_text == (
        "Back Pain Guide\nExercise Safety > Dead-Hangs\nHang for ten seconds. Rest between sets."
    )
    quoted = doc.text[c.start:c.end]
    assert quoted == "Hang for ten seconds. Rest between sets."
    assert "Dead-Hangs" not in quoted and "Back Pain Guide" not in quoted


def test_embed_text_skips_missing_title_and_path():
    doc = make_doc(("paragraph", "Hang for ten seconds."))
    _, chunks = build(doc, title=None)
    assert chunks[0].embed_text == "Hang for ten seconds."


def test_heading_repeating_the_title_is_not_embedded_twice():
    doc = make_doc(("heading", "Back Pain Guide", 1), ("paragraph", "Rest helps."))
    _, chunks = build(doc, title="Back Pain Guide")
    assert chunks[0].embed_text == "Back Pain Guide\nRest helps."
    assert chunks[0].heading_path == ["Back Pain Guide"]


def test_every_sentence_span_belongs_to_a_chunk():
    doc = make_doc(
        ("paragraph", prose(5)), ("heading", "Causes", 1), ("paragraph", prose(25)),
        ("heading", "Types", 2), ("list_item", "Walking: Walking is gentle."),
        ("list_item", "Swimming"), ("heading", "Empty", 2), ("heading", "Outlook", 1),
        ("paragraph", prose(12)),
    )
    spans, chunks = build(doc, max_chars=280)
    covered = {i for c in chunks for i in range(c.first_span, c.last_span + 1)}
    assert {i for i, s in enumerate(spans) if s.kind == "sentence"} <= covered


def test_label_stays_inside_its_passage():
    doc = make_doc(("paragraph", "Walking: Walking is a great way to stay active."))
    spans, chunks = build(doc)
    (c,) = chunks
    assert [spans[i].kind for i in range(c.first_span, c.last_span + 1)] == ["label", "sentence"]
    assert doc.text[c.start:c.end] == "Walking: Walking is a great way to stay active."


def test_doc_with_only_headings_has_no_chunks():
    doc = make_doc(("heading", "Causes", 1), ("heading", "Treatment", 2))
    assert build(doc)[1] == []


def test_ordinals_count_from_zero():
    doc = make_doc(("heading", "Exercise", 1), ("paragraph", prose(30)), ("heading", "Rest", 1),
                   ("paragraph", prose(30)))
    _, chunks = build(doc, max_chars=300)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_overlap_sentence_that_cannot_fit_is_dropped():
    long_sentence = "This sentence is long enough to fill most of the passage limit alone here."
    doc = make_doc(("paragraph", f"Short one. {long_sentence} {long_sentence[:-1]} again."))
    _, chunks = build(doc, max_chars=100, overlap=1)
    assert [(c.first_span, c.last_span) for c in chunks] == [(0, 1), (2, 2)]
    assert all(c.end - c.start <= 100 for c in chunks)
