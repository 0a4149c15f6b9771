"""Sentence segmentation: edge cases, exact offsets, labels (no model, no clean.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundedqa.ingest import segment as segment_mod
from groundedqa.ingest.models import CleanDoc, Span
from tests.builders import make_doc
from groundedqa.ingest.segment import segment, segment_doc

SEEDS = sorted((Path(__file__).resolve().parents[1] / "corpus").glob("*.txt"))


def texts(text: str) -> list[str]:
    return [s.text for s in segment(text)]


def assert_valid(spans: list[Span], text: str) -> None:
    """The identity every quoted span relies on, plus order and no overlap."""
    end = 0
    for s in spans:
        assert text[s.start:s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert s.start >= end
        end = s.end


# --- edge cases of one block of prose ---------------------------------------------------------


def test_p_value_in_parentheses_is_not_split():
    assert texts("Benefits were not significant (p < .61). This matters.") == [
        "Benefits were not significant (p < .61).",
        "This matters.",
    ]


def test_p_value_inside_list_item_is_not_split():
    assert texts("H-reflex of the compromised nerve root (p < .01)") == [
        "H-reflex of the compromised nerve root (p < .01)"
    ]


def test_bare_p_value_before_period_is_not_split():
    assert texts("The result was significant, p < .01. Next sentence here.") == [
        "The result was significant, p < .01.",
        "Next sentence here.",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Use ice, e.g. a cold pack on the area.",
        "Rest, i.e. avoid lifting for a week.",
        "Ask Dr. Smith about your pain.",
        "Compare surgery vs. physical therapy first.",
        "Smith et al. showed a clear benefit.",
    ],
)
def test_abbreviation_does_not_end_sentence(sentence):
    assert texts(f"{sentence} Then stop.") == [sentence, "Then stop."]


def test_numeric_ranges_are_not_split():
    assert texts("Hold for 10-15 seconds. Aim for 75-90% of max.") == [
        "Hold for 10-15 seconds.",
        "Aim for 75-90% of max.",
    ]


def test_decimal_number_is_not_split():
    assert texts("Take 2.5 mg daily. Stop if dizzy.") == ["Take 2.5 mg daily.", "Stop if dizzy."]


def test_inline_numbered_steps_keep_their_numbers():
    assert texts("1. Begin with gentle stretches. 2. Perform 3 sets of 10 reps.") == [
        "1. Begin with gentle stretches.",
        "2. Perform 3 sets of 10 reps.",
    ]


def test_numbered_steps_on_lines_keep_their_numbers():
    text = "1. Begin with short hangs (10-15 seconds)\n2. Perform 3 sets with 1-minute rest"
    assert texts(text) == [
        "1. Begin with short hangs (10-15 seconds)",
        "2. Perform 3 sets with 1-minute rest",
    ]


def test_step_word_stays_with_its_number():
    assert texts("Step 1. Do this. Step 2. Do that.") == ["Step 1. Do this.", "Step 2. Do that."]


def test_question_and_exclamation_marks_end_sentences():
    assert texts("Is it safe? Yes! Do it slowly.") == ["Is it safe?", "Yes!", "Do it slowly."]


def test_closing_quote_stays_with_its_sentence():
    assert texts('He said "stop now." Then he left.') == ['He said "stop now."', "Then he left."]


def test_curly_quote_after_period_stays_with_its_sentence():
    assert texts("He said, “Stop.” Then he left.") == ["He said, “Stop.”", "Then he left."]


def test_list_items_without_periods_are_each_a_sentence():
    assert texts("Pain levels:\n- mild pain\n- moderate pain") == [
        "Pain levels:",
        "- mild pain",
        "- moderate pain",
    ]


def test_heading_like_line_without_period_is_one_sentence():
    assert texts("Deadlifting After Back Pain") == ["Deadlifting After Back Pain"]


def test_newline_is_a_hard_boundary():
    assert texts("This line has no period\nNext line here.") == [
        "This line has no period",
        "Next line here.",
    ]


def test_repeated_sentences_get_their_own_offsets():
    spans = segment("Stop. Stop. Stop.")
    assert [(s.start, s.end) for s in spans] == [(0, 5), (6, 11), (12, 17)]


def test_citation_number_between_sentences_is_left_out():
    assert texts("Low back pain is common. 1 It is likely to recur.") == [
        "Low back pain is common.",
        "It is likely to recur.",
    ]


def test_bracketed_citation_between_sentences_is_left_out():
    assert texts("It may be hard to treat. [2] Patients need care.") == [
        "It may be hard to treat.",
        "Patients need care.",
    ]


def test_citation_number_after_final_period_is_left_out():
    assert texts("Defer it until after evaluation and treatment. 4") == [
        "Defer it until after evaluation and treatment."
    ]


def test_number_ending_a_sentence_without_period_is_kept():
    assert texts("Diabetes Type 2") == ["Diabetes Type 2"]


def test_unknown_abbreviation_before_number_is_not_split():
    assert texts("Approx. 10% of people are affected. Most recover.") == [
        "Approx. 10% of people are affected.",
        "Most recover.",
    ]


def test_spans_have_no_outer_whitespace():
    text = "  Take it slow.   Really slow.\t\n\n   New line here  "
    spans = segment(text)
    assert [s.text for s in spans] == ["Take it slow.", "Really slow.", "New line here"]
    assert_valid(spans, text)


def test_empty_and_blank_text_give_no_spans():
    assert segment("") == [] and segment(" \n\n\t ") == []


# --- what happens when pysbd misbehaves (simulated) -------------------------------------------


def test_fragment_cut_after_p_less_than_is_merged(monkeypatch):
    text = "Results held (p < .01) in all groups, e.g. in adults."
    monkeypatch.setattr(
        segment_mod, "_pysbd_sentences", lambda t: [t[: t.index(".01")] + ".", t[t.index("01"):]]
    )
    assert texts(text) == [text]


def test_lone_list_number_is_merged_into_next(monkeypatch):
    text = "1. Begin with gentle stretches."
    monkeypatch.setattr(segment_mod, "_pysbd_sentences", lambda t: ["1.", t[3:]])
    assert texts(text) == [text]


def test_fragment_without_letters_is_merged_into_previous(monkeypatch):
    text = 'He said "stop now." Then he left.'
    pysbd_output = ['He said "stop now.', '"', "Then he left."]
    monkeypatch.setattr(segment_mod, "_pysbd_sentences", lambda t: pysbd_output)
    assert texts(text) == ['He said "stop now."', "Then he left."]


def test_segment_pysbd_altered_is_kept_verbatim(monkeypatch):
    text = "Use ice, e.g. a cold pack."
    monkeypatch.setattr(segment_mod, "_pysbd_sentences", lambda t: [t.replace("e.g.", "e.g∯")])
    spans = segment(text)
    assert [s.text for s in spans] == [text]
    assert_valid(spans, text)


def test_text_pysbd_drops_is_kept(monkeypatch):
    text = "Use ice, e.g. a cold pack. And rest."
    monkeypatch.setattr(segment_mod, "_pysbd_sentences", lambda t: ["Use ice, e.g. a cold pack."])
    assert texts(text) == ["Use ice, e.g. a cold pack.", "And rest."]


def test_plain_sentences_do_not_call_pysbd(monkeypatch):
    def fail(text: str) -> list[str]:
        raise AssertionError(f"pysbd called for {text!r}")

    monkeypatch.setattr(segment_mod, "_pysbd_sentences", fail)
    assert texts("Walking helps your back. Swimming is gentle too.\nRest when it hurts") == [
        "Walking helps your back.",
        "Swimming is gentle too.",
        "Rest when it hurts",
    ]


# --- whole documents --------------------------------------------------------------------------


def realistic_doc() -> CleanDoc:
    return make_doc(
        ("heading", "Dead-Hangs for Spinal Decompression", 1),
        ("paragraph", "Dead-hangs may help (p < .01). Dr. Smith et al. agree, e.g. in acute pain."),
        ("heading", "How to Start", 2),
        ("paragraph", "Start conservatively with dead-hangs:"),
        ("list_item", "1. Begin with short hangs (10-15 seconds)"),
        ("list_item", "2. Perform 3 sets of 2.5 minutes? No! Rest first."),
        ("paragraph", "Walking: Walking is a great way to stay active. Stop. Stop."),
        ("paragraph", "Low-impact: Activities like walking help. 75-90% of people improve."),
    )


def test_offset_identity_over_a_multi_block_document():
    doc = realistic_doc()
    spans = segment_doc(doc)
    assert_valid(spans, doc.text)
    assert len(spans) == 16


def test_span_block_is_the_index_of_its_block():
    doc = realistic_doc()
    for s in segment_doc(doc):
        block = doc.blocks[s.block]
        assert block.start <= s.start and s.end <= block.end


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_offset_identity_over_seed_file(path):
    raw = path.read_text(encoding="utf-8")
    doc = make_doc(*[("paragraph", b) for b in raw.split("\n\n") if b.strip()])
    spans = segment_doc(doc)
    assert len(spans) > 10
    assert_valid(spans, doc.text)


def test_heading_block_is_one_heading_span():
    doc = make_doc(("heading", "Evidence Supporting Spinal Decompression. Really.", 2))
    assert [(s.kind, s.text) for s in segment_doc(doc)] == [
        ("heading", "Evidence Supporting Spinal Decompression. Really.")
    ]


def test_list_item_is_segmented_like_prose():
    doc = make_doc(("list_item", "Rest first. Then walk."))
    assert [(s.kind, s.text) for s in segment_doc(doc)] == [
        ("sentence", "Rest first."),
        ("sentence", "Then walk."),
    ]


def test_leading_label_is_its_own_span():
    doc = make_doc(("paragraph", "Walking: Walking is a great way to stay active. It helps."))
    assert [(s.kind, s.text) for s in segment_doc(doc)] == [
        ("label", "Walking:"),
        ("sentence", "Walking is a great way to stay active."),
        ("sentence", "It helps."),
    ]


def test_hyphenated_label_on_list_item_is_its_own_span():
    doc = make_doc(("list_item", "Low-impact: Activities like walking are safe."))
    assert [(s.kind, s.text) for s in segment_doc(doc)] == [
        ("label", "Low-impact:"),
        ("sentence", "Activities like walking are safe."),
    ]


def test_lead_in_ending_in_colon_is_a_sentence():
    doc = make_doc(("paragraph", "Start conservatively with dead-hangs:"))
    assert [(s.kind, s.text) for s in segment_doc(doc)] == [
        ("sentence", "Start conservatively with dead-hangs:")
    ]


def test_colon_followed_by_lowercase_is_not_a_label():
    doc = make_doc(("paragraph", "The good news: most people recover."))
    assert [s.kind for s in segment_doc(doc)] == ["sentence"]


def test_more_than_four_words_before_colon_is_not_a_label():
    doc = make_doc(("paragraph", "Here is what you should know: Rest helps."))
    assert [s.kind for s in segment_doc(doc)] == ["sentence"]


def test_doc_without_blocks_is_one_paragraph():
    doc = CleanDoc(text="Rest first. Then walk.", blocks=[])
    assert [s.text for s in segment_doc(doc)] == ["Rest first.", "Then walk."]
