"""The round trip on a real server: a document uploaded through the admin API while 8 clients ask
questions is cited after one build, with no failed answer; deleted, it is gone from answers while
its old citations still resolve by version."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.clinic_helpers import ANKLE, admin_headers, cited_docs, make_clinic, serving

pytestmark = pytest.mark.slow

CLIENTS = 8
QUESTIONS = ("how do balance boards help ankle stability after a sprain?",
             "what helps a sore knee recover after a long run?",
             "how do pendulum swings help a stiff shoulder?")


@pytest.fixture
def server(tmp_path):
    clinic = make_clinic(tmp_path)
    with serving(clinic.app) as url:
        yield url, clinic


class Traffic:
    """CLIENTS threads asking questions until stopped; every response kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.statuses: Counter = Counter()
        self.answers: list[dict] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._ask, args=(n,)) for n in range(CLIENTS)]

    def __enter__(self) -> "Traffic":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _ask(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            i = n
            while not self.stop.is_set():
                try:
                    response = client.post("/v1/answer", json={"question": QUESTIONS[i % 3]})
                    status, body = response.status_code, response.json()
                except httpx.HTTPError as exc:
                    status, body = type(exc).__name__, None
                with self.lock:
                    self.statuses[status] += 1
                    if body is not None and status == 200:
                        self.answers.append(body)
                i += 1

    def seen_since(self, count: int) -> list[dict]:
        with self.lock:
            return self.answers[count:]


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_upload_under_load_is_cited_after_one_build_then_deleted(server):
    url, clinic = server
    admin = httpx.Client(base_url=url, headers=admin_headers(), timeout=30)
    first_build = admin.get("/v1/admin/status").json()["live"]
    with Traffic(url) as traffic:
        wait_for(lambda: len(traffic.answers) >= 2 * CLIENTS)
        put = admin.put("/v1/admin/documents/ankle", files={"file": ("ankle.md", ANKLE.encode())},
                        data={"title": "Ankle Sprain Recovery"})
        assert put.status_code == 202, put.text
        version = put.json()["version"]
        mark = len(traffic.answers)
        wait_for(lambda: any("ankle" in cited_docs(a) for a in traffic.seen_since(mark)))
        upload_build = admin.get("/v1/admin/status").json()["live"]
        assert upload_build != first_build
        cited = next(c for a in traffic.seen_since(mark) for c in a["citations"]
                     if c["doc_id"] == "ankle")
        assert cited["doc_version"] == version

        deleted = admin.delete("/v1/admin/documents/ankle")
        assert deleted.status_code == 202
        wait_for(lambda: admin.get("/v1/admin/status").json()["live"] not in (first_build,
                                                                              upload_build))
        mark = len(traffic.answers)
        wait_for(lambda: len(traffic.answers) >= mark + 2 * CLIENTS)
        after_delete = traffic.seen_since(mark)

    assert set(traffic.statuses) == {200}, traffic.statuses  # 0 failed answers
    # One build for the upload and one for the delete, no more.
    assert clinic.app.state.admin_worker.builds == 2
    assert all("ankle" not in cited_docs(a) for a in after_delete)
    assert httpx.get(f"{url}/v1/documents/ankle").status_code == 404
    old = httpx.get(f"{url}/v1/documents/ankle", params={"version": cited["doc_version"]}).json()
    assert old["live"] is False
    assert old["text"][cited["start"]:cited["end"]] == cited["quote"]
    print(f"\nround trip: {sum(traffic.statuses.values())} answers from {CLIENTS} clients, "
          f"statuses {dict(traffic.statuses)}")
