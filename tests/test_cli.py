"""The `groundedqa` command: one-line errors, and `ask --json` printing the HTTP body."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from groundedqa.cli import main


def test_ingest_of_a_missing_path_is_a_one_line_error(tmp_path, capsys):
    code = main(["ingest", str(tmp_path / "nowhere"), "--index", str(tmp_path / "index")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("groundedqa: error:") and "nowhere" in err and "\n" not in err


def test_ask_without_an_index_is_a_one_line_error(tmp_path, capsys):
    code = main(["ask", "can I lift?", "--index", str(tmp_path / "empty")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no index" in err and "\n" not in err


@pytest.mark.slow
def test_ask_json_prints_exactly_the_http_body(seed_settings, seed_app, capsys):
    question = "can I do dead hangs with S1 radiculopathy?"
    code = main(["ask", question, "--json", "--index", str(seed_settings.index)])
    printed = capsys.readouterr().out.strip()
    with TestClient(seed_app) as client:
        http = client.post("/v1/answer", json={"question": question}).text
    # Each answer has its own answer_id; everything else is byte for byte the same.
    printed_id, http_id = (json.loads(body)["answer_id"] for body in (printed, http))
    assert code == 0 and printed_id != http_id
    assert printed.replace(printed_id, http_id) == http


@pytest.mark.slow
def test_ask_renders_red_flags_box(seed_settings, capsys):
    code = main(["ask", "what is a pinched nerve?", "--index", str(seed_settings.index)])
    out = capsys.readouterr().out
    assert code == 0 and "Red flags" in out and "[1]" in out
