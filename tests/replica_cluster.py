"""Three real replicas on loopback for tests/test_replicas.py: `groundedqa serve` subprocesses
(with the fake encoder, tests/fake_replica.py) sharing one corpus folder and index root, one
PostgreSQL database and one Redis. Everything the compose file runs, without containers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from groundedqa.eval.server import HOST, free_port
from groundedqa.ingest.build import build_index
from groundedqa.settings import Settings
from groundedqa.state.db import make_engine, upgrade
from tests.clinic_helpers import KNEE, REDFLAGS, SHOULDER
from tests.fakes import HashingEncoder

REPO = Path(__file__).resolve().parents[1]
WIDGET_KEY = "widget-key-1"
ADMIN_KEY = "admin-key-1"
#: Small, so that a test sees the limit after a few requests.
RATE_LIMIT_PER_MINUTE = 6
DRAIN_SECONDS = 1.5
START_TIMEOUT_S = 240.0  # a busy 2-core machine starts three at once slowly


@dataclass
class Replica:
    number: int
    port: int
    process: subprocess.Popen
    log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, state_url: str, redis_url: str) -> Cluster:
        corpus, index = root / "corpus", root / "index"
        corpus.mkdir(parents=True)
        (corpus / "knee.md").write_text(KNEE)
        (corpus / "shoulder.md").write_text(SHOULDER)
        env = {**os.environ,
               "GROUNDEDQA_CORPUS": str(corpus), "GROUNDEDQA_INDEX": str(index),
               "GROUNDEDQA_REDFLAGS": str(REDFLAGS), "GROUNDEDQA_STATE_URL": state_url,
               "GROUNDEDQA_RATE_LIMIT_STORAGE": redis_url,
               "GROUNDEDQA_RATE_LIMIT": f"{RATE_LIMIT_PER_MINUTE}/minute",
               "GROUNDEDQA_API_KEYS": json.dumps([WIDGET_KEY]),
               "GROUNDEDQA_ADMIN_KEYS": json.dumps([ADMIN_KEY]),
               # The test client plays the reverse proxy: each simulated patient is an address.
               "GROUNDEDQA_TRUSTED_PROXIES": json.dumps([HOST]),
               "GROUNDEDQA_RELOAD_CHECK_SECONDS": "0.2",
               "GROUNDEDQA_DRAIN_SECONDS": str(DRAIN_SECONDS),
               "GROUNDEDQA_ABSTAIN_BELOW": "0.3"}
        settings = Settings(corpus=corpus, index=index, redflags=REDFLAGS, state_url=state_url)
        engine = make_engine(state_url)
        upgrade(engine)  # what `groundedqa db upgrade` does (tested on its own)
        engine.dispose()
        build_index([corpus], index, settings, embedder=HashingEncoder())
        return cls(root, env)

    def start(self, count: int = 3) -> None:
        """Start replicas until `count` are running (numbered from 1), and wait until ready."""
        self.replicas = [r for r in self.replicas if r.alive()]
        used = {r.number for r in self.replicas}
        for number in range(1, count + 1):
            if number not in used:
                self.replicas.append(self._spawn(number))
        self.replicas.sort(key=lambda r: r.number)
        for replica in self.replicas:
            wait_ready(replica)

    def _spawn(self, number: int) -> Replica:
        port = free_port()
        log = open(self.root / f"replica-{number}-{port}.log", "w+b")  # noqa: SIM115 - kept open
        process = subprocess.Popen([sys.executable, "-m", "tests.fake_replica", "--host", HOST,
                                    "--port", str(port)], cwd=REPO, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT)
        return Replica(number, port, process, log)

    def stop(self) -> None:
        for replica in self.replicas:
            if replica.alive():
                replica.process.send_signal(signal.SIGINT)  # no drain wait
        for replica in self.replicas:
            try:
                replica.process.wait(20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
            replica.log.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`groundedqa ARGS` with the replicas' settings."""
        return subprocess.run([sys.executable, "-m", "groundedqa.cli", *args], cwd=REPO,
                              env=self.env, capture_output=True, text=True, timeout=120)


def wait_ready(replica: Replica) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not replica.alive():
            raise RuntimeError(f"replica {replica.number} exited: {log_tail(replica)}")
        try:
            if httpx.get(replica.url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"replica {replica.number} not ready: {log_tail(replica)}")


def log_tail(replica: Replica, lines: int = 30) -> str:
    replica.log.flush()
    replica.log.seek(0)
    return "\n".join(replica.log.read().decode("utf-8", "replace").splitlines()[-lines:])


# ------------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One request of the load: where it went, when, and how it ended."""

    url: str
    started: float
    ended: float
    status: int | None  # None: a transport error (refused, reset)
    error: str | None = None


def patient_headers(number: int, key: str = WIDGET_KEY) -> dict[str, str]:
    """One simulated patient behind the proxy: its own address, the widget's key."""
    return {"X-API-Key": key, "X-Forwarded-For": f"10.{number >> 16 & 255}.{number >> 8 & 255}."
                                                  f"{number & 255}"}


class Load:
    """`workers` threads sending answers to `targets()` (re-read before each request: a load
    balancer's current pool) round-robin, each request from a new patient address."""

    QUESTIONS = ("does ice help a sore knee?", "how do wall slides help a stiff shoulder?",
                 "can a knee brace help on uneven ground?")

    def __init__(self, targets: Callable[[], list[str]], workers: int = 6) -> None:
        self.targets = targets
        self.workers = workers
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._counter = iter(range(1, 10**9))
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def wait_for(self, urls: list[str], answers: int = 5, timeout: float = 60.0) -> None:
        """Block until each of `urls` has answered `answers` requests of this load."""
        deadline = time.monotonic() + timeout
        while any(sum(o.url == url and o.status == 200 for o in list(self.outcomes)) < answers
                  for url in urls):
            if time.monotonic() > deadline:
                raise AssertionError(f"the load did not reach {urls} within {timeout:.0f} s")
            time.sleep(0.05)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                with self._lock:
                    number = next(self._counter)
                targets = self.targets()
                if not targets:
                    time.sleep(0.01)
                    continue
                url = targets[number % len(targets)]
                started = time.monotonic()
                try:
                    response = client.post(url + "/v1/answer", headers=patient_headers(number),
                                           json={"question": self.QUESTIONS[number % 3]})
                    outcome = Outcome(url, started, time.monotonic(), response.status_code)
                except httpx.HTTPError as exc:
                    outcome = Outcome(url, started, time.monotonic(), None, type(exc).__name__)
                with self._lock:
                    self.outcomes.append(outcome)


class ReadinessPool:
    """The replicas a load balancer sends to: those whose /readyz said 200 at the last poll."""

    def __init__(self, urls: list[str], period: float = 0.1) -> None:
        self.urls = urls
        self.period = period
        self.ready = list(urls)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadinessPool:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def __call__(self) -> list[str]:
        return list(self.ready)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(self.period):
                ready = []
                for url in self.urls:
                    try:
                        if client.get(url + "/readyz").status_code == 200:
                            ready.append(url)
                    except httpx.TimeoutException:
                        if url in self.ready:  # slow (a busy machine) is not gone
                            ready.append(url)
                    except httpx.HTTPError:
                        pass
                self.ready = ready
