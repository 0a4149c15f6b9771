"""A running server picks up a newly published index without a restart or a failed request."""

from __future__ import annotations

import threading
from pathlib import Path
import time

import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.ingest.build import build_index
from groundedqa.service import Service
from groundedqa.settings import Settings

pytestmark = pytest.mark.slow

REDFLAGS = Path(__file__).resolve().parents[1] / "corpus" / "redflags.toml"

FIRST = """Knee Care Basics

Rest helps a sore knee recover after a long run. Ice can reduce swelling in the first two days.
"""
SECOND = """Ankle Care Basics

Elevating a sprained ankle above the heart reduces swelling. Gentle circles keep the ankle mobile.
"""


def test_server_swaps_to_a_new_build_without_failed_requests(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "knee.txt").write_text(FIRST)
    settings = Settings(index=tmp_path / "index", corpus=corpus, rate_limit=None,
                        reload_check_seconds=0.05, redflags=REDFLAGS)
    first = build_index([corpus], settings.index, settings, embedder=embedder)
    app = create_app(settings, Service.load(settings, encoder=embedder))
    statuses: list[int] = []
    seen_builds: set[str] = set()
    stop = threading.Event()

    def ask_repeatedly(client: TestClient) -> None:
        while not stop.is_set():
            response = client.post("/v1/answer", json={"question": "how do I reduce swelling?"})
            statuses.append(response.status_code)
            seen_builds.add(response.json().get("index", ""))

    with TestClient(app) as client:
        worker = threading.Thread(target=ask_repeatedly, args=(client,))
        worker.start()
        (corpus / "ankle.txt").write_text(SECOND)
        second = build_index([corpus], settings.index, settings, embedder=embedder)
        deadline = time.monotonic() + 30
        while second.build_id not in seen_builds and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        worker.join()
        docs = {d["doc_id"] for d in client.get("/v1/documents").json()}
    assert statuses and set(statuses) == {200}
    assert {first.build_id, second.build_id} <= seen_builds
    assert docs == {"knee", "ankle"}
