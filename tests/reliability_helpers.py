"""A tiny index on the fake encoder, and a real uvicorn server in a thread, for the reliability
tests (fault injection, fuzzing, timeouts): no model loads, each index builds in well under a
second."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from groundedqa.ingest.build import BuildReport, build_index
from groundedqa.settings import Settings
from tests.fakes import HashingEncoder

REDFLAGS = Path(__file__).resolve().parents[1] / "corpus" / "redflags.toml"

KNEE = """Knee Care Basics

Rest helps a sore knee recover after a long run. Ice can reduce swelling in the first two days.

When to Call

Call your clinician if the knee locks or gives way.
"""
BACK = """Back Pain and Walking

Walking most days helps lower back pain settle. Heat can ease stiff muscles in the back.
"""
SHOULDER = """Shoulder Stretches

Gentle pendulum swings keep the shoulder moving. Stop any stretch that causes sharp pain.
"""


def write_corpus(root: Path, **articles: str) -> Path:
    """`root/corpus` holding exactly `articles` (name -> text) as .txt files."""
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for existing in corpus.glob("*.txt"):
        if existing.stem not in articles:
            existing.unlink()
    for name, text in articles.items():
        (corpus / f"{name}.txt").write_text(text, encoding="utf-8")
    return corpus


def tiny_settings(root: Path, **overrides: Any) -> Settings:
    """Settings over `root/index` and `root/corpus`, the seed red flags, no rate limit."""
    values: dict[str, Any] = {"index": root / "index", "corpus": root / "corpus",
                              "redflags": REDFLAGS, "rate_limit": None,
                              "reload_check_seconds": 0.0}
    return Settings(**{**values, **overrides})


def build_tiny(settings: Settings, paths: list[Path] | None = None,
               encoder: HashingEncoder | None = None, **options: Any) -> BuildReport:
    """build_index over `paths` (default: the settings' corpus) with the fake encoder."""
    return build_index(paths or [settings.corpus], settings.index, settings,
                       embedder=encoder or HashingEncoder(), **options)


@contextmanager
def running_server(config: uvicorn.Config) -> Iterator[tuple[str, int]]:
    """Run `config` (its port is replaced by a free one) in a thread; yield (host, port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config.host, config.port = "127.0.0.1", port
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
