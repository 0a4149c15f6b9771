"""What a replica tells a load balancer and Prometheus, and its rate limits' storage (in-process;
tests/test_replicas.py runs three real replicas)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from groundedqa.api.app import create_app
from groundedqa.errors import CliError
from groundedqa.eval.server import free_port
from groundedqa.service import Service
from tests.clinic_helpers import make_clinic


@pytest.fixture
def clinic(tmp_path):
    clinic = make_clinic(tmp_path, replica_id="replica-a")
    yield clinic
    clinic.app.state.admin_worker.stop()


def test_readyz_is_ready_with_a_build_and_503_once_draining_while_healthz_stays_up(clinic):
    with TestClient(clinic.app) as client:
        ready = client.get("/readyz")
        health = client.get("/healthz").json()
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "index": health["index"], "replica": "replica-a"}
        assert health["replica"] == "replica-a"
        clinic.app.state.replica.draining.set()
        draining = client.get("/readyz")
        assert draining.status_code == 503
        assert draining.json()["error"]["code"] == "draining" and draining.json()["red_flags"]
        assert client.get("/healthz").status_code == 200
        assert client.post("/v1/answer", json={"question": "does ice help a sore knee?"}) \
            .status_code == 200  # still answering what reaches it


def test_readyz_is_503_before_any_build_exists(tmp_path):
    clinic = make_clinic(tmp_path)
    clinic.app.state.admin_worker.stop()
    empty = clinic.settings.model_copy(update={"index": tmp_path / "empty" / "index"})
    app = create_app(empty)
    with TestClient(app) as client:
        response = client.get("/readyz")
    app.state.admin_worker.stop()
    assert response.status_code == 503 and response.json()["error"]["code"] == "index_unavailable"


def test_metrics_name_the_replica_and_the_build_it_serves(clinic):
    with TestClient(clinic.app) as client:
        build = client.get("/healthz").json()["index"]
        text = client.get("/metrics").text
    assert f'groundedqa_replica_info{{build="{build}",replica="replica-a"}} 1.0' in text
    assert 'groundedqa_ready{replica="replica-a"} 1.0' in text
    assert 'groundedqa_admin_builds_total{replica="replica-a"} 0.0' in text


def test_an_unreachable_redis_falls_back_to_limiting_in_memory(tmp_path):
    # Nothing listens on this port: every Redis call fails, fast.
    clinic = make_clinic(tmp_path, rate_limit="2/minute",
                         rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(clinic.app) as client:
        statuses = [client.post("/v1/answer", json={"question": "does ice help a sore knee?"})
                    .status_code for _ in range(3)]
    clinic.app.state.admin_worker.stop()
    assert statuses == [200, 200, 429]


def test_a_rate_limit_storage_that_is_not_memory_or_redis_stops_the_start(tmp_path):
    clinic = make_clinic(tmp_path)
    clinic.app.state.admin_worker.stop()
    settings = clinic.settings.model_copy(update={
        "rate_limit": "5/minute", "rate_limit_storage": "memcached://127.0.0.1:11211"})
    with pytest.raises(CliError, match="GROUNDEDQA_RATE_LIMIT_STORAGE"):
        create_app(settings, Service.load(settings, encoder=clinic.encoder))
