"""POST /v1/answer with `history`: validation, the 10 most recent messages read, the first message
answered exactly as the same question alone, and no patient text in the logs (fake encoder)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.clinic_helpers import make_clinic

KNEE_QUESTION = "does ice reduce knee swelling?"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    return make_clinic(tmp_path_factory.mktemp("clinic"))


@pytest.fixture(scope="module")
def client(clinic):
    with TestClient(clinic.app) as c:
        yield c


def post(client: TestClient, question: str, history: object = None, **extra: object):
    body = {"question": question, **extra}
    if history is not None:
        body["history"] = history
    return client.post("/v1/answer", json=body)


def test_an_empty_history_entry_is_a_422_naming_it(client):
    response = post(client, KNEE_QUESTION, ["how do I rest my knee?", "ok", "   "])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_question"
    assert error["message"].startswith("history[2]")
    assert response.json()["red_flags"] and response.json()["disclaimer"]


def test_a_history_entry_that_is_not_text_is_a_422_naming_it(client):
    response = post(client, KNEE_QUESTION, ["how do I rest my knee?", 42])
    assert response.status_code == 422
    assert "history[1]" in response.json()["error"]["message"]


def test_a_too_long_history_entry_is_a_422_naming_it(client, clinic):
    too_long = "knee " * clinic.settings.max_question_chars
    response = post(client, KNEE_QUESTION, [too_long])
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("history[0]: question is too long")


def test_history_that_is_not_a_list_is_a_422(client):
    response = post(client, KNEE_QUESTION, "how do I rest my knee?")
    assert response.status_code == 422
    assert "history" in response.json()["error"]["message"]


def test_only_the_ten_most_recent_history_messages_are_read(client, clinic):
    history = [f"knee message number {i}" for i in range(12)]
    clinic.encoder.calls.clear()
    assert post(client, KNEE_QUESTION, history).status_code == 200
    [encoded] = clinic.encoder.calls  # one model call for the message and its history
    assert "knee message number 2" in encoded and "knee message number 11" in encoded
    assert "knee message number 0" not in encoded and "knee message number 1" not in encoded


def test_first_message_gets_exactly_the_response_of_the_question_alone(client):
    alone = post(client, KNEE_QUESTION).json()
    first = post(client, KNEE_QUESTION, []).json()
    alone.pop("answer_id"), first.pop("answer_id")
    assert first == alone
    assert alone["context_used"] is False and alone["interpreted_as"] == KNEE_QUESTION


def test_a_follow_up_says_it_used_the_conversation(client):
    body = post(client, "and the swelling?", ["does ice help a sore knee?"]).json()
    assert body["context_used"] is True
    assert "does ice help a sore knee?" in body["interpreted_as"]
    assert "and the swelling?" in body["interpreted_as"]


def test_interpreted_as_is_never_quoted_as_an_answer_sentence(client):
    body = post(client, "and the swelling?", ["does ice help a sore knee?"]).json()
    assert body["interpreted_as"] not in [s["text"] for s in body["sentences"]]


def test_history_text_never_reaches_the_logs(client, caplog):
    secret = "my secret bladder worry about the knee brace"
    with caplog.at_level(logging.DEBUG):
        assert post(client, "and the swelling?", [secret]).status_code == 200
        assert post(client, "and the swelling?", [secret, ""]).status_code == 422
    assert "secret bladder" not in caplog.text
