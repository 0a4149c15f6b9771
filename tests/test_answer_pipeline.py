"""The answer library over the seed index: abstention, urgency, selection rules, one encode."""

from __future__ import annotations

import pytest

from groundedqa.ingest.store import KIND_CODES
from groundedqa.retrieval.answer import InvalidQuestion

pytestmark = pytest.mark.slow


def test_out_of_scope_question_abstains_with_red_flags(seed_pipeline):
    body = seed_pipeline.answer("What is the capital of France?")
    assert body["abstained"] and body["sentences"] == [] and body["citations"] == []
    assert body["message"] and body["message"] in body["answer"]
    assert body["red_flags"] and body["disclaimer"]


def test_urgent_question_leads_with_seek_care_message(seed_pipeline):
    body = seed_pipeline.answer("i suddenly cant control my bladder and my groin feels numb")
    assert body["urgent"]
    assert body["answer"].startswith(body["urgent_message"])
    assert body["red_flags"]


def test_negated_symptoms_are_not_urgent(seed_pipeline):
    body = seed_pipeline.answer("no numbness in my groin and my bladder is fine, can I do planks?")
    assert not body["urgent"]


def test_in_scope_question_is_answered_from_the_right_article(seed_pipeline):
    body = seed_pipeline.answer("what exercises should I avoid during spinal decompression?")
    assert not body["abstained"]
    assert body["citations"][0]["doc_id"] == "spinal-decompression-working-out"


def test_answers_never_quote_headings_or_questions(seed_pipeline):
    store = seed_pipeline.store
    questions = ["What is a pinched nerve?", "what are the symptoms of a pinched nerve",
                 "red flags for dead hangs", "how is a pinched nerve diagnosed?"]
    kinds = {v: k for k, v in KIND_CODES.items()}
    for q in questions:
        for cite in seed_pipeline.answer(q)["citations"]:
            doc = store.document(cite["doc_id"])
            row = next(r for r in range(len(store.layout["sentence_start"]))
                       if store.layout["sentence_doc"][r] == doc.idx
                       and store.layout["sentence_start"][r] == cite["start"])
            assert kinds[int(store.layout["sentence_kind"][row])] == "sentence"
            assert not cite["quote"].endswith("?")


def test_sentences_follow_each_articles_reading_order(seed_pipeline):
    body = seed_pipeline.answer("which stretches and strengthening exercises help a pinched nerve?")
    per_doc: dict[str, list[int]] = {}
    for cite in body["citations"]:
        per_doc.setdefault(cite["doc_id"], []).append(cite["start"])
    for starts in per_doc.values():
        assert starts == sorted(starts)


def test_answer_encodes_only_the_question(seed_pipeline, monkeypatch):
    embedder = seed_pipeline.embedder
    calls: list[list[str]] = []
    original = embedder.encode

    def counting(texts, **kwargs):
        calls.append(list(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(embedder, "encode", counting)
    seed_pipeline.answer("can I deadlift after back pain?")
    assert calls == [["can I deadlift after back pain?"]]


def test_no_sentence_repeats_within_an_answer(seed_pipeline):
    body = seed_pipeline.answer("can I work out with a pinched nerve in my back?")
    texts = [s["text"] for s in body["sentences"]]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000, "bad\x00char"])
def test_invalid_questions_raise(seed_pipeline, question):
    with pytest.raises(InvalidQuestion):
        seed_pipeline.answer(question)
