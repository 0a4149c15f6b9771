"""The answer library over the seed index: abstention, urgency, selection rules, one encode."""

from __future__ import annotations

import pytest

from groundedqa.answer.question import InvalidQuestion

pytestmark = pytest.mark.slow


def ask(service, question: str) -> dict:
    return service.answer(question).to_dict()


def test_out_of_scope_question_abstains_with_red_flags(seed_service):
    body = ask(seed_service, "What is the capital of France?")
    assert body["abstained"] and body["sentences"] == [] and body["citations"] == []
    assert body["message"] and body["message"] in body["answer"]
    assert body["red_flags"] and body["disclaimer"]


def test_urgent_question_leads_with_seek_care_message(seed_service):
    body = ask(seed_service, "i suddenly cant control my bladder and my groin feels numb")
    assert body["urgent"]
    assert body["answer"].startswith(body["urgent_message"])
    assert body["red_flags"]
    assert not body["abstained"] and body["message"] is None


def test_negated_symptoms_are_not_urgent(seed_service):
    body = ask(seed_service, "no numbness in my groin and my bladder is fine, can I do planks?")
    assert not body["urgent"]


def test_in_scope_question_is_answered_from_the_right_article(seed_service):
    body = ask(seed_service, "what exercises should I avoid during spinal decompression?")
    assert not body["abstained"]
    assert body["citations"][0]["doc_id"] == "spinal-decompression-working-out"


def test_answers_never_quote_headings_or_questions(seed_service):
    store = seed_service.index.store
    questions = ["What is a pinched nerve?", "what are the symptoms of a pinched nerve",
                 "red flags for dead hangs", "how is a pinched nerve diagnosed?"]
    for q in questions:
        for cite in ask(seed_service, q)["citations"]:
            doc = store.document(cite["doc_id"])
            rows = store.doc_sentences(doc.idx)
            (row,) = [r.idx for r in store.sentences(rows) if r.start == cite["start"]]
            assert store.sentence_kinds([row]) == ["sentence"]
            assert not cite["quote"].endswith("?")


def test_sentences_follow_each_articles_reading_order(seed_service):
    body = ask(seed_service, "which stretches and strengthening exercises help a pinched nerve?")
    per_doc: dict[str, list[int]] = {}
    for cite in body["citations"]:
        per_doc.setdefault(cite["doc_id"], []).append(cite["start"])
    for starts in per_doc.values():
        assert starts == sorted(starts)


def test_answer_makes_one_encoder_call_for_the_question_and_its_clauses(seed_service, monkeypatch):
    encoder = seed_service.encoder
    calls: list[list[str]] = []
    original = encoder.encode

    def counting(texts, **kwargs):
        calls.append(list(texts))
        return original(texts, **kwargs)

    monkeypatch.setattr(encoder, "encode", counting)
    seed_service.answer("my back went last week, can I deadlift with back pain?")
    assert len(calls) == 1
    assert calls[0][0] == "my back went last week, can I deadlift with back pain?"
    assert {"my back went last week", "can I deadlift with back pain"} <= set(calls[0])


def test_no_sentence_repeats_within_an_answer(seed_service):
    body = ask(seed_service, "can I work out with a pinched nerve in my back?")
    texts = [s["text"] for s in body["sentences"]]
    assert len(texts) == len(set(texts))


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000, "bad\x00char"])
def test_invalid_questions_raise(seed_service, question):
    with pytest.raises(InvalidQuestion):
        seed_service.answer(question)
