"""Conversations over the seed articles with the real model: follow-ups resolved from the earlier
messages, safety read across messages, and the message for a follow-up with nothing to refer to."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from groundedqa.answer.redflags import load_redflags

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(seed_app):
    with TestClient(seed_app) as c:
        yield c


def ask(client: TestClient, question: str, *history: str) -> dict:
    body = {"question": question}
    if history:
        body["history"] = list(history)
    response = client.post("/v1/answer", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def quoted(body: dict) -> list[str]:
    return [s["text"] for s in body["sentences"]]


# ------------------------------------------------------------------------------------------------
# follow-ups
# ------------------------------------------------------------------------------------------------

def test_ellipsis_is_answered_with_the_carried_subject(client):
    first = "how long should I hold the hamstring stretch?"
    assert ask(client, "and the quad one?")["abstained"]  # alone it refers to nothing
    body = ask(client, "and the quad one?", first)
    assert not body["abstained"] and body["context_used"]
    assert any("ankle" in s for s in quoted(body)[:2]), quoted(body)  # the quad stretch's steps


def test_continuation_quotes_what_follows_without_repeating(client):
    first = "whats a pinched nerve exactly"
    before = set(quoted(ask(client, first)))
    body = ask(client, "tell me more", first)
    assert not body["abstained"] and body["context_used"]
    assert quoted(body) and not before & set(quoted(body))


def test_a_second_continuation_repeats_neither_earlier_answer(client):
    first, second = "whats a pinched nerve exactly", "tell me more"
    seen = set(quoted(ask(client, first))) | set(quoted(ask(client, second, first)))
    body = ask(client, "go on", first, second)
    assert quoted(body) and not seen & set(quoted(body))


def test_new_complete_question_carries_nothing_over(client):
    question = "can you get a pinched nerve from bad form in the gym"
    alone = ask(client, question)
    after = ask(client, question, "whats the recommended rest between dead hang sets")
    assert after["context_used"] is False and after["interpreted_as"] == question
    alone.pop("answer_id"), after.pop("answer_id")
    assert after == alone


def test_topic_shift_carries_nothing_over(client):
    body = ask(client, "another thing: is deadlifting good for sciatica?",
               "how long should i hold a lat stretch with a pinched nerve")
    assert body["context_used"] is False
    assert not any("latissimus" in s for s in quoted(body))


# ------------------------------------------------------------------------------------------------
# safety across messages
# ------------------------------------------------------------------------------------------------

def test_one_leg_then_the_other_is_urgent(client):
    first, second = "my left calf has pins and needles, is walking ok?", "the right calf too now"
    assert not ask(client, first)["urgent"] and not ask(client, second)["urgent"]
    body = ask(client, second, first)
    assert body["urgent"] and body["context_used"]
    assert body["answer"].startswith(body["urgent_message"])


def test_weakness_then_worse_every_day_is_urgent(client):
    body = ask(client, "it is getting worse every day", "my leg feels a bit weak, can I do squats?")
    assert body["urgent"]


def test_urgent_stays_on_every_later_message(client):
    red_flag = "I lost control of my bladder this morning"
    later = "what stretches help a pinched nerve?"
    assert not ask(client, later)["urgent"]
    for history in ([red_flag], [red_flag, later], ["is walking ok?", red_flag, "thanks", "ok"]):
        body = ask(client, later, *history)
        assert body["urgent"] and body["answer"].startswith(body["urgent_message"])


def test_denied_symptom_never_becomes_urgent_later(client):
    denied = "no numbness in the saddle area, its just my calf that tingles. is walking ok"
    for follow_up in ("how long should the walks be", "what about the numbness?", "and after that?"):
        assert not ask(client, follow_up, denied)["urgent"], follow_up


def test_out_of_scope_subject_carried_keeps_abstaining(client):
    first = "whats good for carpal tunnel in my wrist"
    assert ask(client, first)["abstained"]
    assert not ask(client, "what about swimming for back pain?")["abstained"]
    body = ask(client, "what about swimming?", first)
    assert body["abstained"] and not body["sentences"] and body["context_used"]


# ------------------------------------------------------------------------------------------------
# nothing to refer back to
# ------------------------------------------------------------------------------------------------

def test_follow_up_with_nothing_to_refer_to_gets_the_clinics_message(client, seed_settings):
    expected = load_redflags(seed_settings.redflags_path()).followup_message
    for message in ("what about the other one?", "tell me more"):
        body = ask(client, message)
        assert body["abstained"] and body["message"] == expected, message
        assert body["red_flags"] and body["disclaimer"]


def test_every_turn_is_quoted_verbatim_with_citations(client):
    body = ask(client, "and the quad one?", "how long should I hold the hamstring stretch?")
    citations = {c["id"]: c for c in body["citations"]}
    for sentence in body["sentences"]:
        cite = citations[sentence["citations"][0]]
        doc = client.get(f"/v1/documents/{cite['doc_id']}").json()
        assert doc["text"][cite["start"]:cite["end"]] == sentence["text"]
