"""Real PostgreSQL and Redis servers for the replica tests: started from Debian's packages on free
loopback ports in throwaway folders, stopped afterwards (never mocks). `make test` installs the
packages (scripts/install-servers.sh); without them the tests that need them are skipped, saying so.

PostgreSQL refuses to run as root, so as root the cluster is made and run by the `postgres` user
the Debian package creates (`runuser`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from groundedqa.eval.server import HOST, free_port

START_TIMEOUT_S = 30.0


class ServerUnavailable(RuntimeError):
    """The server's binaries are not installed here (the message says how to get them)."""


@dataclass(frozen=True)
class Postgres:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}"')
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or \
        [p for p in [shutil.which(name)] if p]
    if not found:
        raise ServerUnavailable("PostgreSQL is not installed (run `make servers`: Debian's "
                                "postgresql package)")
    return found[-1]


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A throwaway cluster (trust auth on loopback, no fsync: test data only)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="groundedqa-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    try:
        subprocess.run(_as_postgres_user([initdb, "-D", str(data), "-U", "postgres",
                                          "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        options = (f"-p {port} -k {root} -c listen_addresses={HOST} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-o", options, "-l",
                                          str(root / "log"), "-w", "-t", str(int(START_TIMEOUT_S)),
                                          "start"]), check=True, capture_output=True,
                       timeout=START_TIMEOUT_S + 10)
        try:
            yield Postgres(port)
        finally:
            subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w",
                                              "stop"]), capture_output=True, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Redis:
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"


@contextmanager
def redis_server() -> Iterator[Redis]:
    """A throwaway redis-server: loopback only, nothing saved to disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server is not installed (run `make servers`: Debian's "
                                "redis-server package)")
    import redis

    root = Path(tempfile.mkdtemp(prefix="groundedqa-redis-"))
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", HOST, "--save", "",
                                "--appendonly", "no", "--dir", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host=HOST, port=port, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield Redis(port)
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _nginx_binary() -> str:
    for candidate in ("/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise ServerUnavailable("nginx is not installed (run `make servers`: Debian's nginx package)")


@contextmanager
def nginx_server(site_conf: str, port: int) -> Iterator[str]:
    """nginx serving `site_conf` (a conf.d file: upstream + server blocks, listening on `port`)
    from a throwaway prefix; yields its URL."""
    import socket

    binary = _nginx_binary()
    root = Path(tempfile.mkdtemp(prefix="groundedqa-nginx-"))
    (root / "site.conf").write_text(site_conf)
    temp = " ".join(f"{kind}_temp_path {root / kind};"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\nworker_processes 1;\npid {root / 'nginx.pid'};\n"
        f"error_log {root / 'error.log'} warn;\nevents {{ worker_connections 512; }}\n"
        f"http {{ access_log off; {temp} include {root / 'site.conf'}; }}\n")
    process = subprocess.Popen([binary, "-p", str(root), "-e", str(root / "error.log"), "-c",
                                str(root / "nginx.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start: "
                                       + process.stderr.read().decode("utf-8", "replace")) from None
                time.sleep(0.05)
        yield f"http://{HOST}:{port}"
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
