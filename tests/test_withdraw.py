"""Withdrawing a document: it stops being quoted from the request after the command returns, a
re-ingest does not bring it back, `restore` does; the routes, the CLI, the history."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from groundedqa.cli import main
from groundedqa.index.withdrawals import WITHDRAWN, WithdrawalWatch, read_withdrawals, withdraw
from groundedqa.ingest.build import build_index
from groundedqa.service import Service
from groundedqa.settings import Settings
from groundedqa.state import StateStore
from tests.clinic_helpers import (
    ADMIN_KEY,
    KNEE,
    admin_headers,
    cited_docs,
    make_clinic,
    serving,
)
from tests.fakes import HashingEncoder

KNEE_QUESTION = {"question": "does ice reduce swelling in a sore knee?"}
CLIENTS = 8


@pytest.fixture
def clinic(tmp_path):
    clinic = make_clinic(tmp_path)
    yield clinic
    clinic.app.state.admin_worker.stop()


@pytest.fixture
def cli_env(clinic, monkeypatch):
    """The CLI sees the clinic's corpus and red flags (its index comes with --index)."""
    monkeypatch.setenv("GROUNDEDQA_CORPUS", str(clinic.settings.corpus))
    monkeypatch.setenv("GROUNDEDQA_REDFLAGS", str(clinic.settings.redflags))
    return ["--index", str(clinic.settings.index)]


@dataclass
class Asked:
    started: float
    ended: float
    status: int
    cited: frozenset[str]
    build: str | None


def test_withdraw_under_load_stops_citations_at_once_and_restore_brings_them_back(
        clinic, cli_env, capsys) -> None:
    asked: list[Asked] = []
    stop = threading.Event()

    def ask(url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                started = time.monotonic()
                response = http.post("/v1/answer", json=KNEE_QUESTION)
                ok = response.status_code == 200
                asked.append(Asked(started, time.monotonic(), response.status_code,
                                   frozenset(cited_docs(response.json())) if ok else frozenset(),
                                   response.json()["index"] if ok else None))

    def asked_between(start: float, end: float) -> list[Asked]:
        """The requests sent after `start` and answered before `end`."""
        return [a for a in list(asked) if start <= a.started and a.ended < end]

    with serving(clinic.app) as url:
        threads = [threading.Thread(target=ask, args=(url,)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            while len(asked) < 4 * CLIENTS and time.monotonic() < deadline:
                time.sleep(0.05)  # every client under way before the command
            command = time.monotonic()
            assert main(["withdraw", "knee", "--reason", "ice advice is outdated", *cli_env]) == 0
            withdrawn = time.monotonic()
            time.sleep(0.5)
            # The same file, changed, ingested again: a new build holds it, still withdrawn.
            (clinic.settings.corpus / "knee.md").write_text(KNEE + "\nKnee sleeves keep the joint warm.\n")
            report = build_index([clinic.settings.corpus], clinic.settings.index, clinic.settings,
                                 embedder=clinic.encoder)
            rebuilt = time.monotonic()
            # Loading the new build takes a while; requests wait for it. Restore only once it
            # has answered, so the window between the commands holds answers of both builds.
            while not any(a.build == report.build_id for a in list(asked)[-CLIENTS:]) \
                    and time.monotonic() < rebuilt + 60:
                time.sleep(0.05)
            time.sleep(0.5)
            restoring = time.monotonic()
            assert main(["restore", "knee", *cli_env]) == 0
            restored = time.monotonic()
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        ended = time.monotonic()

    before = asked_between(0, command)
    # Between the two commands (each takes effect while it runs, so the time it ran is neither).
    after = asked_between(withdrawn, restoring)
    back = asked_between(restored, ended)
    assert report.changed and any("knee is withdrawn" in note for note in report.notes)
    assert [a.status for a in asked if a.status != 200] == []
    assert before and all("knee" in a.cited for a in before)
    assert len(after) > 20 and [a for a in after if "knee" in a.cited] == []
    rebuilt_answers = asked_between(rebuilt, restoring)
    assert rebuilt_answers and {a.build for a in rebuilt_answers} == {report.build_id}
    assert back and all("knee" in a.cited for a in back)
    out = capsys.readouterr().out
    assert "withdrawn knee" in out and "restored knee" in out


def test_withdrawn_document_is_gone_from_the_document_routes(clinic) -> None:
    with TestClient(clinic.app) as client:
        version = client.get("/v1/documents/knee").json()["doc_version"]
        withdraw(clinic.settings.index, "knee", "wrong advice", "tester")
        for path in ("/v1/documents/knee", f"/v1/documents/knee?version={version}"):
            response = client.get(path)
            assert response.status_code == 410, path
            body = response.json()
            assert body["error"]["code"] == "withdrawn" and "withdrawn" in body["error"]["message"]
            assert "wrong advice" not in response.text  # the clinic's reason stays internal
        assert "knee" not in {d["doc_id"] for d in client.get("/v1/documents").json()}


def test_a_red_flag_quoting_a_withdrawn_article_stays_shown_without_its_citation(tmp_path) -> None:
    flags = tmp_path / "redflags.toml"
    flags.write_text('''
disclaimer = "General information, not medical advice."
seek_care_message = "Seek care now."
abstain_message = "Our articles do not cover this."

[[red_flags]]
doc_id = "knee"
quote = "Knee braces give support on uneven ground."

[[red_flags]]
boilerplate = true
text = "Call emergency services for sudden weakness in both legs."
''')
    clinic = make_clinic(tmp_path, redflags=flags)
    with TestClient(clinic.app) as client:
        quoted = client.post("/v1/answer", json=KNEE_QUESTION).json()["red_flags"]
        assert quoted[0]["citation"]["doc_id"] == "knee"
        done = clinic.app.state.admin_worker.admin.withdraw("knee", "under review", "tester")
        after = client.post("/v1/answer", json=KNEE_QUESTION).json()["red_flags"]
    clinic.app.state.admin_worker.stop()
    assert [f["text"] for f in after] == [f["text"] for f in quoted]
    assert [f["citation"] for f in after] == [None, None]
    assert any("red flag" in note and "quotes 'knee'" in note for note in done.notes)


def test_admin_routes_withdraw_and_restore_with_who_when_why(clinic) -> None:
    with TestClient(clinic.app) as client:
        path = "/v1/admin/documents/knee"
        assert client.post(f"{path}/withdraw", json={"reason": "x"}).status_code == 401
        assert client.post(f"{path}/withdraw", json={}, headers=admin_headers()).status_code == 422
        assert client.post(f"{path}/withdraw", json={"reason": "  "},
                           headers=admin_headers()).status_code == 422
        response = client.post(f"{path}/withdraw", headers=admin_headers(),
                               json={"reason": "dosage is wrong", "by": "Dr Rivera"})
        assert response.status_code == 200
        record = response.json()
        assert record["doc_id"] == "knee" and record["reason"] == "dosage is wrong"
        assert record["by"].startswith("Dr Rivera (admin key ") and ADMIN_KEY not in record["by"]
        assert record["changed"] is True
        again = client.post(f"{path}/withdraw", headers=admin_headers(), json={"reason": "other"})
        assert again.json()["changed"] is False and again.json()["reason"] == "dosage is wrong"
        listed = {d["doc_id"]: d for d in client.get("/v1/admin/documents", headers=admin_headers()).json()}
        assert listed["knee"]["withdrawn"]["reason"] == "dosage is wrong"
        assert listed["shoulder"]["withdrawn"] is None
        assert client.post("/v1/admin/documents/nope/withdraw", headers=admin_headers(),
                           json={"reason": "x"}).status_code == 404
        restored = client.post(f"{path}/restore", headers=admin_headers())
        assert restored.status_code == 200 and restored.json()["restored"] is True
        second = client.post(f"{path}/restore", headers=admin_headers())
        assert second.status_code == 409 and second.json()["error"]["code"] == "not_withdrawn"
    state = StateStore.open(clinic.settings)
    history = [(e.action, e.reason, e.actor.split(" (")[0]) for e in state.withdrawals.history("knee")]
    state.close()
    assert history[0] == ("withdraw", "dosage is wrong", "Dr Rivera")
    assert history[1][0] == "restore" and len(history) == 2
    assert read_withdrawals(clinic.settings.index) == {}


def test_cli_refuses_unknown_documents_and_restoring_what_is_not_withdrawn(clinic, cli_env,
                                                                            capsys) -> None:
    assert main(["withdraw", "no-such-doc", *cli_env]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("groundedqa: error:") and "no-such-doc" in err and "\n" not in err
    assert main(["restore", "knee", *cli_env]) == 2
    assert "is not withdrawn" in capsys.readouterr().err
    assert not (clinic.settings.index / WITHDRAWN).exists()


def test_withdrawal_records_the_os_user_and_the_reason(clinic, cli_env, monkeypatch) -> None:
    monkeypatch.setattr("groundedqa.ops_cli.getpass.getuser", lambda: "jdoe")
    assert main(["withdraw", "knee", "--reason", "needs review", *cli_env]) == 0
    record = read_withdrawals(clinic.settings.index)["knee"]
    assert (record.by, record.reason) == ("jdoe", "needs review")
    assert record.at.endswith("+00:00")


def test_a_malformed_withdrawal_file_never_unwithdraws(tmp_path, caplog) -> None:
    withdraw(tmp_path, "knee", "wrong", "tester")
    watch = WithdrawalWatch(tmp_path)
    assert set(watch.current()) == {"knee"}
    (tmp_path / WITHDRAWN).write_text("{not json")
    assert set(watch.current()) == {"knee"}
    assert "malformed" in caplog.text
    (tmp_path / WITHDRAWN).write_text(json.dumps({"format": 1, "withdrawn": {}}))
    assert set(watch.current()) == set()


def test_a_server_process_over_the_same_index_root_sees_the_withdrawal(clinic) -> None:
    # A second service (another process's view: its own Service over the same folder).
    other = Service.load(Settings(**{**clinic.settings.model_dump(), "reload_check_seconds": 3600}),
                         encoder=HashingEncoder())
    assert "knee" in {c.doc_id for c in other.answer(KNEE_QUESTION["question"]).citations}
    withdraw(clinic.settings.index, "knee", "wrong", "tester")
    assert "knee" not in {c.doc_id for c in other.answer(KNEE_QUESTION["question"]).citations}
    other.close()


def test_ingest_of_a_withdrawn_document_says_it_stays_withdrawn(clinic) -> None:
    withdraw(clinic.settings.index, "knee", "wrong", "tester")
    report = build_index([clinic.settings.corpus], clinic.settings.index, clinic.settings,
                         embedder=clinic.encoder, dry_run=True)
    assert any(n.startswith("knee is withdrawn (by tester") and "groundedqa restore knee" in n
               for n in report.notes)

