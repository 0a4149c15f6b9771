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

import httpx

from groundedqa.errors import CliError

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 20


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(index: Path, rate_limit_off: bool = True,
                   startup_timeout: float = 180.0) -> Iterator[tuple[str, int]]:
    """`groundedqa serve` on a free loopback port; yields (base URL, server pid), then stops it."""
    port = free_port()
    env = dict(os.environ)
    if rate_limit_off:
        env["GROUNDEDQA_RATE_LIMIT"] = ""
    env["GROUNDEDQA_DRAIN_SECONDS"] = "0"  # no load balancer to drain from: stop at once
    command = [sys.executable, "-m", "groundedqa.cli", "serve", "--host", HOST,
               "--port", str(port), "--index", str(index), "--quiet"]
    # The server's output goes to a file, not a pipe: the access log (a JSON line per request)
    # would fill a pipe nobody reads within a few hundred requests and block the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://{HOST}:{port}"
            wait_healthy(url, process, log, startup_timeout)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(url: str, process: subprocess.Popen, log: IO[bytes], timeout: float) -> None:
    """Poll /healthz until 200; a clear error with the server's last output if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CliError(f"the server exited with {process.returncode} before answering:\n"
                           + tail(log))
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise CliError(f"the server did not answer /healthz within {timeout:.0f} s:\n" + tail(log))


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
