"""Start the real server in a child process on loopback, for benchmarks (bounded, local only)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from groundedqa.errors import CliError

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 20


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(index: Path, rate_limit_off: bool = True, startup_timeout: float = 180.0,
                   env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`groundedqa serve` on a free loopback port; yields (base URL, server pid), then stops it.

    `env` adds settings (GROUNDEDQA_*) for this server only.
    """
    port = free_port()
    command = [sys.executable, "-m", "groundedqa.cli", "serve", "--host", HOST,
               "--port", str(port), "--index", str(index), "--quiet"]
    # No load balancer to drain from: stop at once.
    extra = {"GROUNDEDQA_DRAIN_SECONDS": "0"}
    if rate_limit_off:
        extra["GROUNDEDQA_RATE_LIMIT"] = ""
    with _serving(command, port, {**extra, **(env or {})}, "/healthz", startup_timeout) as served:
        yield served


@contextmanager
def running_trivial_server(startup_timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """A FastAPI app whose one JSON route does nothing, under the same uvicorn settings as
    `serve`: the floor of an HTTP round trip, for comparing /v1/answer against."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "groundedqa.eval.server:trivial_app", "--factory",
               "--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with _serving(command, port, {}, "/echo", startup_timeout) as served:
        yield served


def trivial_app():
    """The do-nothing app of `running_trivial_server` (a JSON body in, a small JSON body out)."""
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Body(BaseModel):
        question: str = ""

    app = FastAPI()

    @app.get("/echo")
    def ready() -> dict:
        return {"status": "ok"}

    @app.post("/echo")
    def echo(body: Body) -> dict:
        return {"question": body.question, "answer": []}

    return app


@contextmanager
def _serving(command: list[str], port: int, env: dict[str, str], health: str,
             startup_timeout: float) -> Iterator[tuple[str, int]]:
    env = {**os.environ, **env}
    # The server's output goes to a file, not a pipe: the access log (a JSON line per request)
    # would fill a pipe nobody reads within a few hundred requests and block the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://{HOST}:{port}"
            wait_healthy(url, process, log, startup_timeout, health)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(url: str, process: subprocess.Popen, log: IO[bytes], timeout: float,
                 health: str = "/healthz") -> None:
    """Poll `health` until 200; a clear error with the server's last output if it never is."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CliError(f"the server exited with {process.returncode} before answering:\n"
                           + tail(log))
        try:
            if httpx.get(url + health, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise CliError(f"the server did not answer {health} within {timeout:.0f} s:\n" + tail(log))


def tail(log: IO[bytes], lines: int = 20) -> str:
    log.seek(0)
    return "\n".join(log.read().decode("utf-8", "replace").splitlines()[-lines:])


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid`: psutil when installed, else Linux's /proc/<pid>/status."""
    try:
        import psutil
    except ImportError:
        return _proc_rss_bytes(pid)
    return psutil.Process(pid).memory_info().rss


def _proc_rss_bytes(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds `pid` has used (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
