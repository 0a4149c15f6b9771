"""The admin API: keys, upload, replace, delete, listing, status, bad files, coalesced builds."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from groundedqa.ingest import build as build_module
from tests.clinic_helpers import (
    ANKLE,
    ANKLE_V2,
    PATIENT_KEY,
    admin_headers,
    cited_docs,
    make_clinic,
    wait_until_built,
)

ANKLE_QUESTION = "how do balance boards help ankle stability after a sprain?"


@pytest.fixture
def clinic(tmp_path):
    return make_clinic(tmp_path)


@pytest.fixture
def client(clinic):
    with TestClient(clinic.app) as c:
        yield c
    clinic.app.state.admin_worker.stop()


def put(client, doc_id: str, text: str, name: str = "upload.md", **fields):
    return client.put(f"/v1/admin/documents/{doc_id}", headers=admin_headers(),
                      files={"file": (name, text.encode())}, data=fields)


def test_admin_routes_refuse_when_no_admin_key_is_configured(tmp_path):
    clinic = make_clinic(tmp_path, admin_keys=[])
    with TestClient(clinic.app) as client:
        for method, path in (("GET", "/v1/admin/status"), ("GET", "/v1/admin/documents"),
                             ("DELETE", "/v1/admin/documents/knee")):
            response = client.request(method, path, headers={"X-Admin-Key": ""})
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "admin_disabled"
            assert response.json()["red_flags"]
    clinic.app.state.admin_worker.stop()


def test_wrong_missing_and_patient_keys_are_refused(tmp_path):
    clinic = make_clinic(tmp_path, api_keys=[PATIENT_KEY])
    with TestClient(clinic.app) as client:
        assert client.get("/v1/admin/status").status_code == 401
        assert client.get("/v1/admin/status", headers={"X-Admin-Key": "nope"}).status_code == 401
        patient = {"X-API-Key": PATIENT_KEY, "X-Admin-Key": PATIENT_KEY}
        assert client.get("/v1/admin/status", headers=patient).status_code == 401
        # The admin key needs no patient key beside it, and is no patient key (X-API-Key).
        assert client.get("/v1/admin/status", headers=admin_headers()).status_code == 200
        assert client.post("/v1/answer", json={"question": "knee?"},
                           headers={"X-API-Key": "admin-secret-1"}).status_code == 401
    clinic.app.state.admin_worker.stop()


def test_repeated_wrong_admin_keys_are_throttled(client):
    codes = [client.get("/v1/admin/status", headers={"X-Admin-Key": f"guess-{i}"}).status_code
             for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


def test_upload_is_built_listed_and_cited(client):
    response = put(client, "ankle", ANKLE, title="Ankle Sprain Recovery", publisher="Clinic",
                   type="leaflet")
    assert response.status_code == 202
    body = response.json()
    assert body["doc_id"] == "ankle" and len(body["version"]) == 64
    assert body["build"]["status"] == "pending"
    status = wait_until_built(client, serving="ankle")
    assert status["last_error"] is None
    docs = {d["doc_id"]: d for d in client.get("/v1/admin/documents", headers=admin_headers()).json()}
    assert docs["ankle"]["live"] and docs["ankle"]["version"] == body["version"]
    assert docs["ankle"]["metadata"]["publisher"] == "Clinic"
    assert docs["ankle"]["metadata"]["doc_type"] == "leaflet"
    answer = client.post("/v1/answer", json={"question": ANKLE_QUESTION}).json()
    assert "ankle" in cited_docs(answer)
    cite = next(c for c in answer["citations"] if c["doc_id"] == "ankle")
    assert cite["doc_version"] == body["version"]


def test_upload_lands_in_corpus_folder_and_manifest(client, clinic):
    put(client, "ankle", ANKLE, name="Ankle Leaflet.md", title="Ankle Sprain Recovery")
    assert (clinic.settings.corpus / "ankle.md").read_text() == ANKLE
    manifest = (clinic.settings.corpus / "manifest.toml").read_text()
    assert 'file = "ankle.md"' in manifest and 'title = "Ankle Sprain Recovery"' in manifest


@pytest.mark.parametrize("name,data,reason", [
    ("leaflet.md", b"\x00\x01\x02 binary", "binary"),
    ("leaflet.md", b"   \n  ", "empty"),
    ("leaflet.xyz", b"Some text about knees.", "unsupported extension"),
    ("leaflet", b"Some text about knees.", "no extension"),
])
def test_bad_file_is_422_with_reason_and_changes_nothing(client, clinic, name, data, reason):
    before = sorted(p.name for p in clinic.settings.corpus.iterdir())
    manifest = (clinic.settings.corpus / "manifest.toml").exists()
    response = client.put("/v1/admin/documents/leaflet", headers=admin_headers(),
                          files={"file": (name, data)})
    assert response.status_code == 422
    assert reason in response.json()["error"]["message"]
    assert sorted(p.name for p in clinic.settings.corpus.iterdir()) == before
    assert (clinic.settings.corpus / "manifest.toml").exists() == manifest
    assert client.get("/v1/admin/status", headers=admin_headers()).json()["pending"] == []


def test_invalid_doc_id_is_422(client):
    response = put(client, "Not An Id", ANKLE)
    assert response.status_code == 422 and "not valid" in response.json()["error"]["message"]


def test_replaced_document_keeps_old_version_readable(client):
    first = put(client, "ankle", ANKLE).json()
    wait_until_built(client)
    old_answer = client.post("/v1/answer", json={"question": "what reduces ankle bruising?"}).json()
    old_cite = next(c for c in old_answer["citations"] if c["doc_id"] == "ankle")
    second = put(client, "ankle", ANKLE_V2).json()
    assert second["version"] != first["version"]
    wait_until_built(client)
    live = client.get("/v1/documents/ankle").json()
    assert live["doc_version"] == second["version"] and "Compression" in live["text"]
    old = client.get("/v1/documents/ankle", params={"version": old_cite["doc_version"]}).json()
    assert old["live"] is False
    assert old["text"][old_cite["start"]:old_cite["end"]] == old_cite["quote"]
    versions = next(d for d in client.get("/v1/admin/documents", headers=admin_headers()).json()
                    if d["doc_id"] == "ankle")["versions"]
    assert [v["version"] for v in versions] == [first["version"], second["version"]]
    assert versions[0]["retired_at"] and versions[1]["retired_at"] is None


def test_unknown_version_is_404_json(client):
    response = client.get("/v1/documents/knee", params={"version": "f" * 64})
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["code"] == "unknown_version" and "not available" in body["error"]["message"]
    assert body["red_flags"]


def test_delete_removes_document_from_answers_and_corpus(client, clinic):
    put(client, "ankle", ANKLE)
    wait_until_built(client, serving="ankle")
    before = client.post("/v1/answer", json={"question": ANKLE_QUESTION}).json()
    cite = next(c for c in before["citations"] if c["doc_id"] == "ankle")
    response = client.delete("/v1/admin/documents/ankle", headers=admin_headers())
    assert response.status_code == 202
    # The queued build is done when the live build no longer holds the document.
    deadline = time.monotonic() + 60
    while client.get("/v1/documents/ankle").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    wait_until_built(client)
    assert not (clinic.settings.corpus / "ankle.md").exists()
    assert "ankle" not in (clinic.settings.corpus / "manifest.toml").read_text()
    after = client.post("/v1/answer", json={"question": ANKLE_QUESTION}).json()
    assert "ankle" not in cited_docs(after)
    assert client.get("/v1/documents/ankle").status_code == 404
    old = client.get("/v1/documents/ankle", params={"version": cite["doc_version"]}).json()
    assert old["text"][cite["start"]:cite["end"]] == cite["quote"]


def test_delete_of_unknown_document_is_404(client):
    response = client.delete("/v1/admin/documents/nothing-here", headers=admin_headers())
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_document"


def test_changes_during_a_build_are_coalesced_into_the_next(tmp_path, monkeypatch):
    clinic = make_clinic(tmp_path)
    started, release = threading.Event(), threading.Event()
    builds: list[str] = []
    real_build = build_module.build_index

    def gated_build(*args, **kwargs):
        started.set()
        release.wait(30)
        report = real_build(*args, **kwargs)
        builds.append(report.build_id)
        return report

    worker = clinic.app.state.admin_worker
    monkeypatch.setattr(worker.admin, "_build", gated_build)
    with TestClient(clinic.app) as client:
        put(client, "ankle", ANKLE)
        assert started.wait(10), "the first build did not start"
        for doc_id in ("wrist", "elbow", "hip"):
            put(client, doc_id, f"# {doc_id.title()} care\n\nGentle {doc_id} circles ease "
                                f"{doc_id} stiffness. Heat relaxes the {doc_id} muscles.\n")
        status = client.get("/v1/admin/status", headers=admin_headers()).json()
        assert [c["doc_id"] for c in status["building"]["changes"]] == ["ankle"]
        assert [c["doc_id"] for c in status["pending"]] == ["wrist", "elbow", "hip"]
        release.set()
        wait_until_built(client)
        live = {d["doc_id"] for d in client.get("/v1/documents").json()}
    worker.stop()
    assert len(builds) == 2, builds
    assert {"ankle", "wrist", "elbow", "hip"} <= live


def test_uploads_have_their_own_size_limit(tmp_path):
    clinic = make_clinic(tmp_path, max_body_bytes=1024, max_upload_bytes=64 * 1024)
    big = "# Long leaflet\n\n" + "Gentle walking helps most sore backs recover. " * 800  # ~37 KB
    with TestClient(clinic.app) as client:
        assert put(client, "long", big).status_code == 202  # past the patient body limit
        too_big = put(client, "huge", big * 2)
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "body_too_large"
        assert client.post("/v1/answer", json={"question": "x" * 2000}).status_code == 413
    clinic.app.state.admin_worker.stop()
