"""verify_response: every response is built here from a tiny document; nothing is loaded."""

from __future__ import annotations

import copy

import httpx
import pytest

from groundedqa.errors import CliError
from groundedqa.eval.clients import HttpClient
from groundedqa.eval.grounding import check_response, verify_response

DOC_ID = "walking-article"
DOC = "Walking is a great way to stay active. Stop if pain spreads down both legs. Call us today."
SENTENCE = "Walking is a great way to stay active."
FLAG = "Stop if pain spreads down both legs."
TEXTS = {DOC_ID: DOC}


def get_text(doc_id: str) -> str | None:
    return TEXTS.get(doc_id)


def span(text: str) -> dict:
    start = DOC.index(text)
    return {"doc_id": DOC_ID, "title": "Walking", "url": None, "quote": text,
            "start": start, "end": start + len(text)}


def good_response() -> dict:
    return {
        "question": "is walking ok",
        "answer": f"{SENTENCE} [1]",
        "sentences": [{"text": SENTENCE, "citations": [1]}],
        "citations": [{"id": 1, **span(SENTENCE), "score": 0.8}],
        "abstained": False,
        "urgent": False,
        "red_flags": [{"text": FLAG, "citation": span(FLAG)},
                      {"text": "Seek care for numbness in the groin.", "citation": None}],
        "disclaimer": "General information, not a diagnosis.",
        "index": "build-1",
    }


def test_correct_response_has_no_problems():
    assert verify_response(good_response(), get_text) == []


def test_sentence_with_one_character_changed_is_caught():
    response = good_response()
    response["sentences"][0]["text"] = SENTENCE.replace("great", "grEat")
    response["answer"] = response["sentences"][0]["text"] + " [1]"
    problems = verify_response(response, get_text)
    assert any("sentence 1 is not in the span of citation [1]" in p for p in problems)


def test_quote_altered_with_its_sentence_is_caught_against_the_document():
    response = good_response()
    altered = SENTENCE.replace("great", "safe")
    response["sentences"][0]["text"] = altered
    response["citations"][0]["quote"] = altered
    response["answer"] = altered + " [1]"
    problems = verify_response(response, get_text)
    assert any("citation [1] quote differs from 'walking-article'" in p for p in problems)


def test_wrong_offset_is_caught():
    response = good_response()
    response["citations"][0]["start"] += 1
    response["citations"][0]["end"] += 1
    problems = verify_response(response, get_text)
    assert any("quote differs" in p for p in problems)


def test_offsets_beyond_the_document_are_caught():
    response = good_response()
    response["citations"][0]["end"] = len(DOC) + 5
    assert any("fall outside" in p for p in verify_response(response, get_text))


def test_citation_to_unknown_document_is_caught():
    response = good_response()
    response["citations"][0]["doc_id"] = "no-such-article"
    problems = verify_response(response, get_text)
    assert any("unknown document 'no-such-article'" in p for p in problems)


def test_sentence_without_citation_is_caught():
    response = good_response()
    response["sentences"][0]["citations"] = []
    assert any("sentence 1 has no citation" in p for p in verify_response(response, get_text))


def test_sentence_citing_a_missing_citation_id_is_caught():
    response = good_response()
    response["sentences"][0]["citations"] = [7]
    assert any("cites [7], which is not among the citations" in p
               for p in verify_response(response, get_text))


def test_missing_red_flags_field_is_caught():
    response = good_response()
    del response["red_flags"]
    check = check_response(response, get_text)
    assert "missing field 'red_flags'" in check.problems and not check.safety_ok


def test_empty_red_flags_list_is_caught():
    response = good_response()
    response["red_flags"] = []
    assert "no red flags" in verify_response(response, get_text)


def test_empty_disclaimer_is_caught():
    response = good_response()
    response["disclaimer"] = "  "
    assert "disclaimer is empty" in verify_response(response, get_text)


def test_red_flag_citation_with_wrong_offset_is_caught():
    response = good_response()
    response["red_flags"][0]["citation"]["start"] -= 2
    assert any(p.startswith("red flag 1 citation quote differs") for p in verify_response(response, get_text))


def test_words_in_the_answer_that_no_sentence_quotes_are_caught():
    response = good_response()
    response["answer"] = f"{SENTENCE} [1] You will be fine."
    assert any(p.startswith("answer text is not exactly its cited sentences")
               for p in verify_response(response, get_text))


def test_declared_seek_care_message_may_precede_the_sentences():
    response = good_response()
    response["urgent"] = True
    response["urgent_message"] = "Get medical care now."
    response["answer"] = f"Get medical care now.\n\n{SENTENCE} [1]"
    assert verify_response(response, get_text) == []


def test_abstention_with_declared_message_and_no_sentences_passes():
    response = good_response()
    response.update(abstained=True, sentences=[], citations=[], message="We cannot answer this.",
                    answer="We cannot answer this.")
    assert verify_response(response, get_text) == []


def test_abstained_response_that_still_has_sentences_is_caught():
    response = good_response()
    response["abstained"] = True
    assert "abstained but has sentences" in verify_response(response, get_text)


def test_non_object_response_is_one_problem():
    assert verify_response(["not", "a", "dict"], get_text) == ["response is not a JSON object (list)"]


def test_counts_separate_grounded_cited_and_precise():
    response = good_response()
    bad = "Walking cures everything."
    response["sentences"].append({"text": bad, "citations": [1]})
    response["sentences"].append({"text": FLAG, "citations": []})
    response["answer"] = f"{SENTENCE} [1] {bad} [1] {FLAG}"
    check = check_response(response, get_text)
    assert (check.sentences, check.grounded_sentences, check.cited_sentences) == (3, 1, 2)
    assert (check.citation_links, check.precise_links) == (2, 1)
    assert check.safety_ok


def test_each_document_is_fetched_once_per_response():
    calls = []

    def tracking(doc_id: str) -> str | None:
        calls.append(doc_id)
        return TEXTS.get(doc_id)

    response = copy.deepcopy(good_response())
    verify_response(response, tracking)
    assert calls == [DOC_ID]  # fetched once, and used for every span of that document


# -- the HTTP client ------------------------------------------------------------------------------

def _server(handler) -> httpx.Client:
    return httpx.Client(base_url="http://clinic.test", transport=httpx.MockTransport(handler))


def test_http_client_fetches_document_text_from_the_documents_endpoint():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/documents/{DOC_ID}":
            return httpx.Response(200, json={"doc_id": DOC_ID, "text": DOC})
        return httpx.Response(404, json={"error": {"message": "unknown"}})

    client = HttpClient("http://clinic.test", http=_server(handler))
    assert client.document_text(DOC_ID) == DOC
    assert client.document_text("missing") is None


def test_http_client_waits_out_a_rate_limit(monkeypatch):
    monkeypatch.setattr("groundedqa.eval.clients.time.sleep", lambda s: None)
    statuses = iter([429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json=good_response() if status == 200 else {},
                              headers={"Retry-After": "1"})

    client = HttpClient("http://clinic.test", http=_server(handler))
    assert client.answer("is walking ok")["question"] == "is walking ok"


def test_http_client_turns_an_unreachable_server_into_a_cli_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = HttpClient("http://clinic.test", http=_server(handler))
    with pytest.raises(CliError, match="cannot reach http://clinic.test"):
        client.answer("is walking ok")
