"""Conversations in the terminal (`ask --history`, `chat`) and `eval conversations`' exit code,
over the seed index with the real model."""

from __future__ import annotations

import io
import json
import sys

import pytest

from groundedqa.api.app import answer_json
from groundedqa.cli import main

pytestmark = pytest.mark.slow

HAMSTRING = "how long should I hold the hamstring stretch?"
QUAD = "and the quad one?"


def test_ask_with_history_answers_the_follow_up(seed_settings, seed_service, capsys):
    code = main(["ask", QUAD, "--history", HAMSTRING, "--json", "--index", str(seed_settings.index)])
    body = json.loads(capsys.readouterr().out)
    assert code == 0 and body["context_used"] and not body["abstained"]
    direct = json.loads(answer_json(seed_service.answer(QUAD, None, [HAMSTRING]).to_dict()))
    assert body == {**direct, "answer_id": body["answer_id"]}


def test_ask_with_a_bad_history_entry_is_a_one_line_error(seed_settings, capsys):
    code = main(["ask", QUAD, "--history", HAMSTRING, "--history", " ",
                 "--index", str(seed_settings.index)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("groundedqa: error: history[1]") and "\n" not in err


def chat(seed_settings, monkeypatch, capsys, lines: list[str]) -> tuple[int, list[dict], str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code = main(["chat", "--json", "--index", str(seed_settings.index)])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_chat_carries_the_conversation_until_exit(seed_settings, monkeypatch, capsys):
    code, bodies, _ = chat(seed_settings, monkeypatch, capsys,
                           [HAMSTRING, "", QUAD, "exit", "never answered"])
    assert code == 0 and [b["question"] for b in bodies] == [HAMSTRING, QUAD]
    assert not bodies[0]["context_used"] and bodies[1]["context_used"]


def test_chat_ends_at_end_of_input(seed_settings, monkeypatch, capsys):
    code, bodies, _ = chat(seed_settings, monkeypatch, capsys, [HAMSTRING])
    assert code == 0 and len(bodies) == 1


def test_chat_reports_a_bad_message_on_one_line_and_goes_on(seed_settings, monkeypatch, capsys):
    too_long = "stretch " * 1000
    code, bodies, err = chat(seed_settings, monkeypatch, capsys, [HAMSTRING, too_long, QUAD])
    assert code == 0 and [b["question"] for b in bodies] == [HAMSTRING, QUAD]
    assert err.strip().startswith("groundedqa: error: question is too long")
    assert len(err.strip().splitlines()) == 1
    assert bodies[1]["context_used"]  # the rejected message did not enter the history


def write_conversations(path, *, second_urgent: bool) -> str:
    conversation = {"id": "c1", "split": "tune", "category": "no_antecedent", "turns": [
        {"message": "what about the other one?", "urgent": False, "abstain": True},
        {"message": "how long should I hold the hamstring stretch?", "urgent": second_urgent,
         "abstain": False, "docs": ["pinched-nerve-workout"]},
    ]}
    path.write_text(json.dumps(conversation) + "\n")
    return str(path)


def test_eval_conversations_exits_0_when_the_goals_are_met(seed_app_server, tmp_path, capsys):
    file = write_conversations(tmp_path / "c.jsonl", second_urgent=False)
    assert main(["eval", "conversations", file, "--url", seed_app_server, "--json"]) == 0


def test_eval_conversations_exits_non_zero_below_the_goals(seed_app_server, tmp_path, capsys):
    file = write_conversations(tmp_path / "c.jsonl", second_urgent=True)
    assert main(["eval", "conversations", file, "--url", seed_app_server, "--json"]) == 1
    assert "goal missed: urgent_recall" in capsys.readouterr().err
