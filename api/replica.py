"""What one replica says about itself to a load balancer and to Prometheus: its name, the build
it serves, whether it takes traffic (`/readyz`), and how many admin builds it ran.

`/healthz` is liveness (the process answers from a loaded build); `/readyz` is readiness: 200 only
once a build is loaded and until the replica starts draining on SIGTERM (api/server.py), so a
load balancer stops sending before the listener closes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from groundedqa.api.holder import ServiceHolder


@dataclass
class Replica:
    """This process as a replica: its name and its draining switch (set once, never cleared)."""

    name: str
    draining: threading.Event = field(default_factory=threading.Event)


def install_replica(app: FastAPI, replica: Replica, holder: ServiceHolder,
                    builds: Callable[[], int]) -> None:
    """Add `GET /readyz` and the replica's metrics (needs `app.state.metrics` and
    `app.state.error_body`)."""

    @app.api_route("/readyz", methods=["GET", "HEAD"], include_in_schema=False)
    def readyz() -> JSONResponse:
        """200 while this replica should get traffic; 503 before a build loads and when draining."""
        service = holder.get()
        if service is not None and not replica.draining.is_set():
            return JSONResponse({"status": "ready", "index": service.build_id,
                                 "replica": replica.name})
        if replica.draining.is_set():
            code, message = "draining", "this replica is shutting down; send requests elsewhere"
        else:
            code = "index_unavailable"
            message = holder.last_error or "the index is not loaded yet; try again shortly"
        body = app.state.error_body(503, code, message)
        body["replica"] = replica.name
        return JSONResponse(body, status_code=503)

    app.state.metrics.registry.register(ReplicaCollector(replica, holder, builds))


class ReplicaCollector(Collector):
    """Read at scrape time, so the build label is the one served at that moment."""

    def __init__(self, replica: Replica, holder: ServiceHolder, builds: Callable[[], int]) -> None:
        self.replica = replica
        self.holder = holder
        self.builds = builds

    def describe(self) -> list:
        # Nothing to check at registration: collecting would load the index before the app runs.
        return []

    def collect(self) -> Iterator:
        service = self.holder.get()
        info = InfoMetricFamily("groundedqa_replica", "This replica and the index build it serves.",
                                labels=["replica"])
        info.add_metric([self.replica.name], {"build": service.build_id if service else ""})
        yield info
        ready = GaugeMetricFamily("groundedqa_ready", "1 while /readyz answers 200.",
                                  labels=["replica"])
        ready.add_metric([self.replica.name],
                         float(service is not None and not self.replica.draining.is_set()))
        yield ready
        builds = CounterMetricFamily("groundedqa_admin_builds",
                                     "Admin index builds this replica ran.", labels=["replica"])
        builds.add_metric([self.replica.name], self.builds())
        yield builds
