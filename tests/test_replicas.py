"""Three real replicas behind one index root, Redis and PostgreSQL (tests/replica_cluster.py):
shared limits, one builder, shared records, and losing a replica without losing a request."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from groundedqa.eval.server import HOST, free_port
from groundedqa.index.builds import published_history
from tests.clinic_helpers import ANKLE
from tests.live_servers import ServerUnavailable, nginx_server
from tests.replica_cluster import (
    ADMIN_KEY,
    DRAIN_SECONDS,
    RATE_LIMIT_PER_MINUTE,
    Cluster,
    Load,
    ReadinessPool,
    log_tail,
    patient_headers,
)

REPO = Path(__file__).resolve().parents[1]
COMPOSE_NGINX = REPO / "deploy" / "compose-nginx.conf"

pytestmark = pytest.mark.slow

#: The slow request's body arrives this long after it started: past the drain window.
SLOW_BODY_SECONDS = DRAIN_SECONDS + 1.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres, redis_url):
    state_url = postgres.create_database("replicas")
    cluster = Cluster.create(tmp_path_factory.mktemp("replicas"), state_url, redis_url)
    try:
        cluster.start(3)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def three(cluster):
    """The cluster with its three replicas running (a test before may have stopped one)."""
    cluster.start(3)
    return cluster


def ask(url: str, question: str, number: int) -> httpx.Response:
    return httpx.post(url + "/v1/answer", json={"question": question},
                      headers=patient_headers(number), timeout=30)


def test_one_widget_key_through_three_replicas_is_limited_as_one_client(three):
    statuses = []
    for attempt in range(3 * RATE_LIMIT_PER_MINUTE):
        replica = three.replicas[attempt % 3]
        response = httpx.post(replica.url + "/v1/answer", timeout=30,
                              json={"question": "does ice help a sore knee?"},
                              headers={"X-API-Key": "widget-key-1",
                                       "X-Forwarded-For": "203.0.113.7"})
        statuses.append((replica.number, response.status_code))
    assert [s for _, s in statuses].count(200) == RATE_LIMIT_PER_MINUTE, statuses
    assert {n for n, s in statuses if s == 429} == {1, 2, 3}, statuses


def test_an_article_uploaded_on_one_replica_is_cited_by_the_others_after_one_build(three):
    first, *others = three.replicas
    index = three.root / "index"
    published_before = len(published_history(index))
    response = httpx.put(first.url + "/v1/admin/documents/ankle", headers={"X-Admin-Key": ADMIN_KEY},
                         files={"file": ("ankle.md", ANKLE.encode(), "text/markdown")}, timeout=30)
    assert response.status_code == 202, response.text
    question = "does elevating a sprained ankle reduce bruising?"
    deadline = time.monotonic() + 60
    cited: dict[int, str] = {}
    while len(cited) < len(others) and time.monotonic() < deadline:
        for number, replica in enumerate(others):
            body = ask(replica.url, question, 500 + number).json()
            if "ankle" in {c["doc_id"] for c in body.get("citations", [])}:
                cited[replica.number] = body["index"]
        time.sleep(0.2)
    assert sorted(cited) == [r.number for r in others], "the new article was never cited"
    new_build = next(iter(cited.values()))
    assert set(cited.values()) == {new_build}
    assert len(published_history(index)) == published_before + 1  # one build, not three
    health = [httpx.get(r.url + "/healthz").json() for r in three.replicas]
    assert {h["index"] for h in health} == {new_build}
    assert len({h["replica"] for h in health}) == 3
    builds = 0
    for replica, h in zip(three.replicas, health):
        metrics = httpx.get(replica.url + "/metrics").text
        assert f'groundedqa_replica_info{{build="{new_build}",replica="{h["replica"]}"}} 1.0' \
            in metrics
        builds += int(float(metrics.split("groundedqa_admin_builds_total{")[1].split()[1]))
    assert builds == 1


def test_feedback_given_on_one_replica_is_in_the_export_from_another(three):
    one, two, three_ = three.replicas
    answer = ask(one.url, "does ice help a sore knee?", 900).json()
    response = httpx.post(two.url + "/v1/feedback", headers=patient_headers(900), timeout=30,
                          json={"answer_id": answer["answer_id"], "helpful": True})
    assert response.status_code == 201, response.text
    exported = three.cli("report", "feedback", "--format", "json")  # replica 3's settings
    assert exported.returncode == 0, exported.stderr
    rows = {row["answer_id"]: row for row in json.loads(exported.stdout)}
    assert rows[answer["answer_id"]]["helpful"] is True
    assert rows[answer["answer_id"]]["build"] == answer["index"]


def test_a_replica_killed_under_load_leaves_the_others_answering_without_error(three):
    victim, *survivors = three.replicas
    urls = [r.url for r in three.replicas]
    with Load(lambda: urls) as load:
        load.wait_for(urls)
        victim.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        load.wait_for([r.url for r in survivors], answers=len(load.outcomes) // 3 + 10)
    assert victim.process.wait(10) == -signal.SIGKILL
    survivor_urls = {r.url for r in survivors}
    to_survivors = [o for o in load.outcomes if o.url in survivor_urls]
    failed = [o for o in to_survivors if o.status != 200]
    assert not failed, failed[:5]
    assert sum(o.started > killed_at for o in to_survivors) >= 10  # they kept answering
    assert any(o.url == victim.url and o.status is None for o in load.outcomes)  # it did die


def test_sigterm_under_load_fails_no_request(three):
    leaving = three.replicas[1]
    urls = [r.url for r in three.replicas]
    with ReadinessPool(urls) as pool, Load(pool) as load:
        load.wait_for(urls)
        # A request in flight across the whole drain: its body arrives only after the
        # listener has closed.
        in_flight: dict[str, object] = {}
        body_started = threading.Event()

        def slow_body():
            yield b'{"question": "does ice help '
            body_started.set()  # runs once the first chunk is sent
            time.sleep(SLOW_BODY_SECONDS)
            yield b'a sore knee?"}'

        def send_slow() -> None:
            try:
                in_flight["response"] = httpx.post(
                    leaving.url + "/v1/answer", content=slow_body(), timeout=30,
                    headers={**patient_headers(77_000), "Content-Type": "application/json"})
            except httpx.HTTPError as exc:
                in_flight["response"] = exc
            in_flight["ended"] = time.monotonic()

        sender = threading.Thread(target=send_slow)
        sender.start()
        assert body_started.wait(30)
        leaving.process.send_signal(signal.SIGTERM)
        terminated_at = time.monotonic()
        assert leaving.process.wait(30) is not None, log_tail(leaving)
        exited_at = time.monotonic()
        sender.join(30)
        time.sleep(0.5)
    failed = [o for o in load.outcomes if o.status != 200]
    assert not failed, failed[:5]
    to_leaving = [o for o in load.outcomes if o.url == leaving.url]
    assert any(o.started < terminated_at for o in to_leaving)
    response = in_flight["response"]
    assert isinstance(response, httpx.Response) and response.status_code == 200, response
    assert in_flight["ended"] > terminated_at + DRAIN_SECONDS
    assert exited_at >= in_flight["ended"] - 0.5


@pytest.fixture
def proxy(three):
    """nginx with the compose file's proxy config, pointed at the three replicas."""
    port = free_port()
    site = COMPOSE_NGINX.read_text().replace("listen 80;", f"listen {HOST}:{port};")
    for replica in three.replicas:
        site = site.replace(f"replica{replica.number}:8000", f"{HOST}:{replica.port}")
    assert site.count(f"server {HOST}:") == 3 and "listen 80;" not in site
    try:
        with nginx_server(site, port) as url:
            yield url
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


def test_through_the_compose_proxy_a_killed_and_a_stopped_replica_fail_no_request(three, proxy):
    killed, stopped, _ = three.replicas
    # Alone on the proxy, consecutive requests go round-robin over the three.
    names = {httpx.get(proxy + "/healthz", timeout=30).json()["replica"] for _ in range(3)}
    assert len(names) == 3
    with Load(lambda: [proxy]) as load:
        load.wait_for([proxy], answers=20)
        killed.process.send_signal(signal.SIGKILL)
        stopped.process.send_signal(signal.SIGTERM)
        assert stopped.process.wait(30) is not None and killed.process.wait(10) is not None
        after = len(load.outcomes)
        load.wait_for([proxy], answers=after + 20)
    failed = [o for o in load.outcomes if o.status != 200]
    assert not failed, failed[:5]
